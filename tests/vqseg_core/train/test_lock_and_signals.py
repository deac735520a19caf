"""One process per output folder; SIGTERM saves like Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from vqseg_core.checkpoint import load_checkpoint
from vqseg_core.train import loop
from vqseg_core.train.loop import CHECKPOINT, RunExistsError, train

from ._synthetic import disc_data, tiny_config


def test_a_folder_held_by_a_live_process_is_refused(tmp_path: Path) -> None:
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        tmp_path.mkdir(exist_ok=True)
        (tmp_path / ".lock").write_text(str(sleeper.pid), encoding="utf-8")
        with pytest.raises(RunExistsError, match=f"pid {sleeper.pid}"):
            train(
                tiny_config(steps=2), tmp_path, data=disc_data(), device="cpu", echo=lambda m: None
            )
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_stale_lock_is_taken_over_and_released(tmp_path: Path) -> None:
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    (tmp_path / ".lock").write_text(str(dead.pid), encoding="utf-8")
    result = train(
        tiny_config(steps=2), tmp_path, data=disc_data(), device="cpu", echo=lambda m: None
    )
    assert result.steps_done == 2
    assert not (tmp_path / ".lock").exists()


def test_sigterm_saves_a_checkpoint_and_stops(tmp_path: Path, monkeypatch) -> None:
    real_step = loop._train_step
    calls = {"n": 0}

    def step_then_sigterm(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 8:
            os.kill(os.getpid(), signal.SIGTERM)
        return real_step(*args, **kwargs)

    monkeypatch.setattr(loop, "_train_step", step_then_sigterm)
    before = signal.getsignal(signal.SIGTERM)
    result = train(
        tiny_config(steps=20), tmp_path, data=disc_data(), device="cpu", echo=lambda m: None
    )
    assert result.interrupted
    assert load_checkpoint(tmp_path / CHECKPOINT)["step"] == result.steps_done >= 7
    assert signal.getsignal(signal.SIGTERM) == before  # the handler is restored
