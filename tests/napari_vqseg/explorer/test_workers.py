"""Worker functions never raise: they return ("ok" | "cancelled" | "error", value)."""

from __future__ import annotations

import numpy as np
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


def test_without_ground_truth_masks_and_final_view_carry_the_clean_labels(tiny_pair, disc) -> None:
    from napari_vqseg.explorer.state import ResultCache
    from vqseg_core.engine import ImageMemo, RunRequest, image_id
    from vqseg_core.perturb import Corruption
    from vqseg_core.robustness.view import RobustnessView

    image, _ = disc
    clean = tiny_pair.predict(image, None, device="cpu")
    memo = ImageMemo(ResultCache(16), image_id(image), None)

    def run(level: float) -> tuple[list, object]:
        request = RunRequest(tiny_pair, image, None, Corruption("gaussian", level, 0), 2, "cpu")
        gen = workers.analyse(request, None, "unet", lambda: False, memo, progressive=True)
        steps = []
        while True:
            try:
                steps.append(next(gen))
            except StopIteration as stop:
                status, view = stop.value
                assert status == "ok"
                return steps, view

    steps, view = run(20.0)
    early = [s for s in steps if isinstance(s, RobustnessView)]
    assert early and early[0].latent_state == "pending"  # the masks view, before the latents
    for v in (early[0], view):
        for key, mv in v.models.items():
            np.testing.assert_array_equal(mv.clean_labels, clean[key])
    misses = memo.misses
    _, again = run(25.0)  # another level: the clean labels come from the memo
    assert memo.misses == misses
    assert set(again.models["vqunet"].sizes) == {"ring", "core"}
