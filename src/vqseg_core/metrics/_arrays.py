"""Input checks shared by the metrics: masks, label maps and spacing."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np

LABEL_RANGE = (-(2**31), 2**31 - 1)
"""Label values must lie in the int32 range (a float 1e30 is no class number)."""

SPACING_RANGE = (1e-6, 1e6)
"""Voxel sizes in mm the surface metrics accept (1 nm to 1 km): squared distances stay finite
and distinct from 0 in float64."""


def to_numpy(x: Any) -> np.ndarray:
    """A numpy view/copy of an array-like or (CPU/GPU) torch tensor."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(x, torch.Tensor):
        return x.detach().cpu().numpy()  # type: ignore[no-any-return]
    return np.asarray(x)


def binary_pair(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two boolean masks of one shape; values other than 0/1/False/True raise ``ValueError``."""
    p, t = to_numpy(pred), to_numpy(target)
    if p.shape != t.shape:
        raise ValueError(f"pred and target shapes differ: {p.shape} vs {t.shape}")
    return _as_mask(p, "pred"), _as_mask(t, "target")


def label_pair(pred: Any, target: Any) -> tuple[np.ndarray, np.ndarray]:
    """Two integer label maps of one shape."""
    p, t = to_numpy(pred), to_numpy(target)
    if p.shape != t.shape:
        raise ValueError(f"pred and target shapes differ: {p.shape} vs {t.shape}")
    return _as_labels(p, "pred"), _as_labels(t, "target")


def _as_labels(a: np.ndarray, name: str) -> np.ndarray:
    """``a`` as int64 labels: integer values within :data:`LABEL_RANGE` (``ValueError``)."""
    if a.dtype == bool:
        return a.astype(np.int64)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise ValueError(f"{name} must be an integer label map, got dtype {a.dtype}")
    if a.size == 0:
        return a.astype(np.int64)
    if np.issubdtype(a.dtype, np.floating):
        if not np.isfinite(a).all():
            raise ValueError(f"{name} must be an integer label map, got NaN or infinite values")
        if not np.array_equal(a, np.round(a)):
            raise ValueError(f"{name} must be an integer label map, got non-integer values")
    lo, hi = a.min(), a.max()
    if lo < LABEL_RANGE[0] or hi > LABEL_RANGE[1]:
        raise ValueError(
            f"{name} holds label {float(lo if lo < LABEL_RANGE[0] else hi):g}, outside "
            f"{LABEL_RANGE[0]}..{LABEL_RANGE[1]}: not a label map"
        )
    return a.astype(np.int64)


def labels_present(pred: np.ndarray, target: np.ndarray, labels: Sequence[int] | None) -> list[int]:
    """``labels`` as ints, or every non-zero label found in either map (sorted)."""
    if labels is not None:
        return [int(v) for v in labels]
    found = np.union1d(np.unique(pred), np.unique(target))
    return [int(v) for v in found if v != 0]


def spacing_for(spacing: float | Sequence[float], ndim: int) -> tuple[float, ...]:
    """Voxel size in mm per axis: a scalar is isotropic; must lie in :data:`SPACING_RANGE`."""
    values = (float(spacing),) * ndim if np.isscalar(spacing) else tuple(float(s) for s in spacing)  # type: ignore[arg-type, union-attr]
    if len(values) != ndim:
        raise ValueError(f"spacing has {len(values)} entries for a {ndim}-D mask: {values}")
    if not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"spacing must be positive and finite (mm), got {values}")
    lo, hi = SPACING_RANGE
    if not all(lo <= s <= hi for s in values):
        raise ValueError(
            f"spacing must lie between {lo:g} and {hi:g} mm per axis, got {values}: "
            "distances at that scale are not representable"
        )
    return values


def _as_mask(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype == bool:
        return a
    if a.size and not np.isin(a, (0, 1)).all():
        raise ValueError(
            f"{name} must be a binary mask (0/1 or bool); for label maps use the *_per_class functions"
        )
    return a.astype(bool)
