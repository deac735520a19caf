"""Padding an input to a shape a network can halve, and cropping its output back.

One rule for every network the project runs (its own UNets and users' networks wrapped by
:mod:`vqseg_core.modelset.foreign_net`): replicate padding split evenly before and after (the
odd voxel after), and the exact inverse crop.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F

__all__ = ["crop_padding", "pad_to"]


def pad_to(x: torch.Tensor, target: Sequence[int]) -> tuple[torch.Tensor, list[int]]:
    """``x`` ``(B, C, *spatial)`` replicate-padded to spatial ``target``, and the pads used
    (``F.pad`` order: last axis first, before/after; empty when nothing was padded)."""
    spatial = tuple(x.shape[2:])
    if spatial == tuple(target):
        return x, []
    pads: list[int] = []
    for s, t in zip(reversed(spatial), reversed(tuple(target)), strict=True):
        total = t - s
        pads += [total // 2, total - total // 2]
    return F.pad(x, pads, mode="replicate"), pads


def crop_padding(y: torch.Tensor, pads: list[int]) -> torch.Tensor:
    """Undo :func:`pad_to` on ``y`` ``(B, K, *spatial)`` (the pads it returned)."""
    if not pads:
        return y
    slices = [slice(None), slice(None)]
    n = len(pads) // 2
    for axis in range(n):
        before, after = pads[2 * (n - 1 - axis)], pads[2 * (n - 1 - axis) + 1]
        slices.append(slice(before, y.shape[2 + axis] - after))
    return y[tuple(slices)]
