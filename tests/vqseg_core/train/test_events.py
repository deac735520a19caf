"""TensorBoard event files beside log.jsonl: what is written, opting out, no TensorBoard."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest

from vqseg_core.train import events
from vqseg_core.train.curves import read_log


def _read_scalars(folder: Path) -> dict[str, list[tuple[int, float]]]:
    """``{tag: [(step, value), ...]}`` of every event file in ``folder``."""
    accumulator = pytest.importorskip(
        "tensorboard.backend.event_processing.event_accumulator"
    ).EventAccumulator(str(folder))
    accumulator.Reload()
    return {
        tag: [(e.step, e.value) for e in accumulator.Scalars(tag)]
        for tag in accumulator.Tags()["scalars"]
    }


def test_scalars_flatten_records_and_skip_what_is_not_a_number() -> None:
    record = {
        "type": "val",
        "step": 3,
        "dice": {"lungs": 0.9, "heart": None},
        "loss": 1.5,
        "ok": True,
        "name": "x",
    }
    assert events.scalars(record, "val") == [("val/dice/lungs", 0.9), ("val/loss", 1.5)]


def test_a_training_run_writes_every_logged_number(reference_run: Path) -> None:
    pytest.importorskip("tensorboard")
    scalars = _read_scalars(reference_run / events.EVENTS_DIR)
    train, val = read_log(reference_run / "log.jsonl")
    assert [step for step, _ in scalars["train/loss"]] == [r["step"] for r in train]
    assert [v for _, v in scalars["train/loss"]] == pytest.approx([r["loss"] for r in train])
    for cls in val[-1]["dice"]:
        assert scalars[f"val/dice/{cls}"][-1] == (
            val[-1]["step"],
            pytest.approx(val[-1]["dice"][cls]),
        )


def test_the_wrapped_log_writes_the_same_lines(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    log = events.open_log(tmp_path / "log.jsonl", 0)
    assert isinstance(log, events.TensorBoardLog)
    lines = [{"type": "train", "step": s, "loss": 1.0 / s} for s in (1, 2)]
    for line in lines:
        log.write(json.dumps(line) + "\n")
        log.flush()
    log.write("not json\n")
    log.close()
    text = (tmp_path / "log.jsonl").read_text(encoding="utf-8")
    assert text == "".join(json.dumps(line) + "\n" for line in lines) + "not json\n"
    assert _read_scalars(tmp_path / events.EVENTS_DIR)["train/loss"] == [(1, 1.0), (2, 0.5)]


@pytest.mark.parametrize("value", ["0", "false", "OFF", "no"])
def test_the_environment_variable_opts_out(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, value: str
) -> None:
    monkeypatch.setenv(events.ENV_OPT_OUT, value)
    log = events.open_log(tmp_path / "log.jsonl", 0)
    assert isinstance(log, io.TextIOWrapper)
    log.close()
    assert not (tmp_path / events.EVENTS_DIR).exists()


def test_without_tensorboard_the_log_is_the_plain_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = events.importlib.util.find_spec
    monkeypatch.setattr(
        events.importlib.util,
        "find_spec",
        lambda name, *a: None if name == "tensorboard" else real(name, *a),
    )
    assert not events.tensorboard_enabled()
    log = events.open_log(tmp_path / "log.jsonl", 0)
    assert isinstance(log, io.TextIOWrapper)
    log.close()
    assert events.with_tensorboard(None, tmp_path, 0) is None


def test_a_resumed_run_purges_the_steps_it_redoes(tmp_path: Path) -> None:
    pytest.importorskip("tensorboard")
    for start, steps in [(0, range(1, 6)), (3, range(4, 7))]:  # killed after 5, resumed from 3
        log = events.open_log(tmp_path / "log.jsonl", start)
        for s in steps:
            log.write(json.dumps({"type": "train", "step": s, "loss": float(s + start)}) + "\n")
        log.close()
    loss = _read_scalars(tmp_path / events.EVENTS_DIR)["train/loss"]
    assert loss == [(1, 1.0), (2, 2.0), (3, 3.0), (4, 7.0), (5, 8.0), (6, 9.0)]
