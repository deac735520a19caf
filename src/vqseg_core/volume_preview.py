"""Which order a 3D sliding window runs in, and the preview of the focus slice.

With a patch as deep as most of the volume (96 of 133 slices), every window covers the middle
slice, so its exact MONAI-equal labels need every window. Then
:func:`~vqseg_core.volume.iter_sliding_window` sweeps along the axis with the smallest ring of
summed logits (:func:`sweep_axis`) and, asked for, first shows :func:`preview_slab`: the focus
slice from thin windows centred on it, a small share of the full cost. When an axial sweep
finishes the focus slice early (a long volume, :func:`focus_final_share`), it sweeps axially,
focus slabs first, and needs no preview.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import numpy as np
import torch

EARLY_SHARE = 0.2
"""An axial sweep is used when the focus slice is final after at most this share of windows."""


def sweep_axis(size: Sequence[int], patch: Sequence[int]) -> int:
    """The axis to sweep the windows along: the one whose ring of ``patch`` slices holds the
    fewest voxels (``patch[a] * volume / size[a]``), the axial (last) one on a tie."""
    n = math.prod(size)
    live = [p * (n // s) for p, s in zip(patch, size, strict=True)]
    return len(live) - 1 if live[-1] == min(live) else live.index(min(live))


def focus_final_share(starts: Sequence[int], patch: int, focus: int | None) -> float:
    """Share of the windows an axial sweep runs before slice ``focus`` is final (1.0 without one)."""
    if focus is None:
        return 1.0
    holding = sum(s <= focus < s + patch for s in starts)
    return max(holding, 1) / len(starts)


def preview_slab(
    x: torch.Tensor,
    window_labels: Callable[[torch.Tensor, tuple[int, ...]], np.ndarray],
    patch: Sequence[int],
    focus: int,
    depth: int,
) -> tuple[int, int, np.ndarray]:
    """Labels of the axial slices around ``focus`` from ``depth``-deep windows (a preview).

    The windows take MONAI's in-plane grid of ``patch`` and the ``depth`` slices of ``x``
    ``(1, C, X, Y, Z)`` centred on ``focus`` (clamped to the volume), blended as MONAI blends
    them (exactly :func:`~vqseg_core.volume.iter_sliding_window` on that slab): about
    ``depth / patch[2]`` of the cost of one axial row of full windows. It differs from the
    exact labels where the network uses more axial context than ``depth`` slices.

    Args:
        window_labels: ``(slab, patch)`` -> the labels of ``slab`` through MONAI-equal windows
            of ``patch`` (:func:`~vqseg_core.volume.iter_sliding_window`, passed in by it).

    Returns:
        ``(z_start, z_stop, labels)``: the middle half of the slab (always holding ``focus``)
        and its labels ``(X, Y, z_stop - z_start)`` (``x``'s axial indices).
    """
    n = int(x.shape[-1])
    depth = min(depth, n)
    s0 = min(max(focus - depth // 2, 0), n - depth)
    slab = x[..., s0 : s0 + depth]
    labels = window_labels(slab, (*patch[:2], depth))
    margin = depth // 4
    z0 = min(max(focus - margin, s0 + margin), focus)
    z1 = max(min(focus + margin + 1, s0 + depth - margin), focus + 1)
    return z0, z1, labels[..., z0 - s0 : z1 - s0]
