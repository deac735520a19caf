"""Helpers of the sliding-window tests (test_volume.py, test_volume_preview.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch


def runner(model: torch.nn.Module) -> Callable[[torch.Tensor], torch.Tensor]:
    """``model`` as the window function of :func:`vqseg_core.volume.iter_sliding_window`."""

    def run(batch: torch.Tensor) -> torch.Tensor:
        with torch.inference_mode():
            return model(batch)

    return run


def record_allocations(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """The element counts of every ``torch.zeros`` that :mod:`vqseg_core.volume` makes."""
    import vqseg_core.volume as volume

    sizes: list[int] = []
    real = torch.zeros

    def spy(*shape, **kwargs):
        t = real(*shape, **kwargs)
        sizes.append(t.numel())
        return t

    monkeypatch.setattr(volume.torch, "zeros", spy)
    return sizes
