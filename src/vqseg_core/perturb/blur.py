"""Gaussian blur with its width in millimetres, honouring anisotropic voxel spacing."""

from __future__ import annotations

import numpy as np
from scipy import ndimage


def gaussian_blur(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Gaussian smoothing with sd ``level`` mm along every axis (``level / spacing`` voxels).

    Edges are extended (``mode="nearest"``); deterministic, the generator is unused.
    """
    sigma_voxels = [level / s for s in spacing]
    return np.clip(ndimage.gaussian_filter(x, sigma_voxels, mode="nearest"), 0.0, 1.0)
