"""Worker functions never raise: they return ("ok" | "cancelled" | "error", value)."""

from __future__ import annotations

import pytest

from napari_vqseg.explorer import workers
from vqseg_core.engine import Cancelled


def test_guarded_outcomes() -> None:
    assert workers.guarded(lambda x: x + 1)(1) == ("ok", 2)

    def cancelled() -> None:
        raise Cancelled("stop")

    def broken() -> None:
        raise ValueError("bad")

    assert workers.guarded(cancelled)() == ("cancelled", None)
    status, err = workers.guarded(broken)()
    assert status == "error" and isinstance(err, ValueError)


def test_analyse_returns_errors_instead_of_raising(monkeypatch: pytest.MonkeyPatch) -> None:
    from vqseg_core import engine

    def failing(*args, **kwargs):
        yield "partial"
        raise RuntimeError("boom")

    monkeypatch.setattr(engine, "iter_execute", failing)
    gen = workers.analyse(None, None, None, lambda: False)
    assert next(gen) == "partial"
    with pytest.raises(StopIteration) as stop:
        next(gen)
    status, err = stop.value.value
    assert status == "error" and isinstance(err, RuntimeError)


def test_a_missing_export_is_an_error_not_a_crash(tmp_path) -> None:
    status, err = workers.load_models(None, [str(tmp_path / "missing.json")])
    assert status == "error" and "missing" in str(err)
