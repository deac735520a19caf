"""Device list of the explorer: no torch import on a machine without accelerators."""

from __future__ import annotations

import subprocess
import sys

import pytest

from napari_vqseg.explorer._qt import controls


def test_cpu_only_machine_lists_cpu_without_importing_torch() -> None:
    code = (
        "import sys\n"
        "from napari_vqseg.explorer._qt import controls\n"
        "controls._may_have_accelerator = lambda: False\n"
        "print(controls.available_devices(), 'torch' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "['cpu'] False"


def test_with_a_possible_accelerator_torch_decides(monkeypatch: pytest.MonkeyPatch) -> None:
    import torch

    monkeypatch.setattr(controls, "_may_have_accelerator", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    assert controls.available_devices()[0] == "cuda"
    assert controls.available_devices()[-1] == "cpu"


def test_hidden_gpus_mean_no_accelerator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torch", None)  # as if torch was never imported
    monkeypatch.setattr("platform.system", lambda: "Linux")
    monkeypatch.setenv("CUDA_VISIBLE_DEVICES", "")
    assert controls._may_have_accelerator() is False
