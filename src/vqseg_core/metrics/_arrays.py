"""Input checks shared by the metrics: masks, label maps and spacing."""

from __future__ import annotations

import math
import sys
from collections.abc import Sequence
from typing import Any

import numpy as np


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
    for name, a in (("pred", p), ("target", t)):
        is_int = np.issubdtype(a.dtype, np.integer) or a.dtype == bool
        if not is_int and not np.array_equal(a, np.round(a)):
            raise ValueError(f"{name} must be an integer label map, got non-integer values")
    return p.astype(np.int64), t.astype(np.int64)


def labels_present(pred: np.ndarray, target: np.ndarray, labels: Sequence[int] | None) -> list[int]:
    """``labels`` as ints, or every non-zero label found in either map (sorted)."""
    if labels is not None:
        return [int(v) for v in labels]
    found = np.union1d(np.unique(pred), np.unique(target))
    return [int(v) for v in found if v != 0]


def spacing_for(spacing: float | Sequence[float], ndim: int) -> tuple[float, ...]:
    """Voxel size in mm per axis: a scalar is isotropic; must be positive and finite."""
    values = (float(spacing),) * ndim if np.isscalar(spacing) else tuple(float(s) for s in spacing)  # type: ignore[arg-type, union-attr]
    if len(values) != ndim:
        raise ValueError(f"spacing has {len(values)} entries for a {ndim}-D mask: {values}")
    if not all(math.isfinite(s) and s > 0 for s in values):
        raise ValueError(f"spacing must be positive and finite (mm), got {values}")
    return values


def _as_mask(a: np.ndarray, name: str) -> np.ndarray:
    if a.dtype == bool:
        return a
    if a.size and not np.isin(a, (0, 1)).all():
        raise ValueError(
            f"{name} must be a binary mask (0/1 or bool); for label maps use the *_per_class functions"
        )
    return a.astype(bool)
