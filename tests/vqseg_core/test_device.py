"""Device and precision choice."""

from __future__ import annotations

import pytest
import torch

from vqseg_core.device import autocast_dtype, channels_last, pick_device


def test_auto_picks_an_available_device() -> None:
    dev = pick_device("auto")
    expected = "cuda" if torch.cuda.is_available() else dev.type
    assert dev.type == expected
    assert pick_device("cpu") == torch.device("cpu")


def test_unknown_or_unavailable_devices_are_refused() -> None:
    with pytest.raises(ValueError, match="device must be one of"):
        pick_device("tpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            pick_device("cuda")


def test_precision_choice() -> None:
    cpu = torch.device("cpu")
    assert autocast_dtype(cpu, "fp32") is None
    assert autocast_dtype(cpu, "bf16") is torch.bfloat16
    assert autocast_dtype(cpu, "auto") in (None, torch.bfloat16)
    assert channels_last(2) is torch.channels_last
    assert channels_last(3) is torch.channels_last_3d


def test_inference_auto_is_float32_on_the_cpu() -> None:
    from vqseg_core.device import inference_dtype

    cpu = torch.device("cpu")
    assert inference_dtype(cpu, "auto") is None  # bf16 masks missed the 99.9 % bar
    assert inference_dtype(cpu, "bf16") is torch.bfloat16
    assert inference_dtype(cpu, "fp32") is None
