"""Grid changes for images (linear, optional anti-aliasing) and labels (nearest neighbour),
with scikit-image's ``resize`` (identical to the hand-written zoom this module held before:
tested), behind a memory check.

Both map voxel *edges* onto voxel edges (``grid_mode=True``), so the field of view is kept
exactly: a grid of ``n`` voxels of ``s`` mm becomes ``m`` voxels of ``n * s / m`` mm. Resizing
labels with :func:`resize_labels` to the original shape is the exact inverse grid change.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

MAX_AXIS = 2**20
"""The most voxels a resampled grid may have along one axis (a shape, not memory, bound)."""
SMALL_GRID_BYTES = 256 * 2**20
"""Grids up to this many working bytes are resampled without consulting the memory budget."""


def shape_for_spacing(
    shape: Sequence[int], spacing: Sequence[float], target: Sequence[float]
) -> tuple[int, ...]:
    """Grid shape that covers the same field of view at ``target`` mm (at least 1 voxel)."""
    if len(shape) != len(spacing) or len(shape) != len(target):
        raise ValueError(
            f"shape {tuple(shape)}, spacing {tuple(spacing)} and target spacing "
            f"{tuple(target)} must have the same length"
        )
    values = [float(v) for v in (*spacing, *target)]
    if not all(math.isfinite(v) and v > 0 for v in values):
        raise ValueError(
            f"spacings must be positive and finite, got {tuple(spacing)} -> {tuple(target)}"
        )
    sizes = [n * s / t for n, s, t in zip(shape, spacing, target, strict=True)]
    if not all(math.isfinite(v) and v < MAX_AXIS for v in sizes):
        raise ValueError(
            f"a grid of shape {tuple(shape)} at {tuple(spacing)} mm resampled to "
            f"{tuple(target)} mm would have {tuple(f'{v:.3g}' for v in sizes)} voxels per "
            f"axis (at most {MAX_AXIS} are allowed): is the spacing right?"
        )
    return tuple(max(1, round(v)) for v in sizes)


def check_grid_budget(shape: Sequence[int], what: str, *, copies: int = 3) -> None:
    """Refuse, before allocating, a float32 grid of ``shape`` over the memory budget.

    ``copies`` working arrays are counted (filtered input, zoomed output, normalised output).

    Raises:
        MemoryBudgetError: (a ``ValueError``) naming ``what``, the shape and the budget.
    """
    from vqseg_core.models.budget import check_array_budget  # imports torch: only when needed

    if math.prod(int(n) for n in shape) * 4 * copies <= SMALL_GRID_BYTES:
        return  # small: no need to ask the budget
    check_array_budget(shape, 4, what, copies=copies)


def resize_image(array: np.ndarray, shape: Sequence[int], *, antialias: bool = True) -> np.ndarray:
    """Linear resize of a float image ``(H, W)`` or ``(X, Y, Z)`` to ``shape`` (float32).

    ``skimage.transform.resize`` (order 1, edge mode; with ``antialias`` a Gaussian of sigma
    ``(1/zoom - 1) / 2`` voxels along every axis that shrinks). What this module adds: the
    memory check before allocating, and the shape checks.
    """
    from skimage.transform import resize

    shape = tuple(int(n) for n in shape)
    check_grid_budget(shape, "resizing an image")
    src = np.asarray(array, dtype=np.float32)
    _check_shape(src, shape)
    if src.shape == shape:
        return src.copy()
    out = resize(src, shape, order=1, mode="edge", anti_aliasing=antialias, preserve_range=True)
    return out.astype(np.float32, copy=False)


def resize_labels(labels: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """Nearest-neighbour resize of an integer label map to ``shape`` (dtype kept):
    ``skimage.transform.resize`` at order 0, no anti-aliasing."""
    from skimage.transform import resize

    src = np.asarray(labels)
    shape = tuple(int(n) for n in shape)
    _check_shape(src, shape)
    if src.shape != shape:
        check_grid_budget(shape, "resizing labels", copies=max(1, src.dtype.itemsize // 4))
    if src.shape == shape:
        return src.copy()
    if src.dtype == bool:
        return resize_labels(src.astype(np.uint8), shape).astype(bool)
    out = resize(src, shape, order=0, mode="edge", anti_aliasing=False, preserve_range=True)
    return out.astype(src.dtype, copy=False)


def _check_shape(src: np.ndarray, shape: tuple[int, ...]) -> None:
    if src.ndim != len(shape) or any(n < 1 for n in shape):
        raise ValueError(f"cannot resize an array of shape {src.shape} to {shape}")
