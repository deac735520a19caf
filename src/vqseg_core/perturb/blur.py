"""Gaussian blur with its width in millimetres, honouring anisotropic voxel spacing.

A wide blur on a fine grid (``level / spacing`` of thousands or millions of voxels, e.g. a
1e-7 mm spacing) would make scipy build a kernel of ``8 * sigma`` taps per axis and never
return. Axes with such a sigma are blurred instead by the exact ``n x n`` operator of a
Gaussian with edge extension (``mode="nearest"``), whose weights are masses of the normal
distribution (see :func:`nearest_gaussian_operator`); the cost no longer grows with sigma.
"""

from __future__ import annotations

import math

import numpy as np
from scipy import ndimage
from scipy.special import erf

#: From this sigma (voxels) on, an axis is blurred by its dense operator instead of scipy's
#: sampled kernel: there the sampled Gaussian and the normal masses agree to about 1e-6 of the
#: image range, and the kernel (``8 * sigma + 1`` taps) has become the cost.
SIGMA_OPERATOR_VOXELS = 100.0

#: scipy's default kernel half-width, in sigmas; the dense operator truncates at the same place.
TRUNCATE = 4.0


def gaussian_blur(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Gaussian smoothing with sd ``level`` mm along every axis (``level / spacing`` voxels).

    Edges are extended (``mode="nearest"``); deterministic, the generator is unused. Axes whose
    sigma reaches :data:`SIGMA_OPERATOR_VOXELS` are blurred by their dense operator, so the
    run time stays bounded for any spacing (a 1e-7 mm voxel included).

    Raises:
        ValueError: A spacing that is not a positive finite number, a negative or non-finite
            level, or a spacing of the wrong length.
    """
    if len(spacing) != x.ndim:
        raise ValueError(f"spacing has {len(spacing)} entries for a {x.ndim}D image: {spacing}")
    if not all(math.isfinite(s) and s > 0 for s in spacing):
        raise ValueError(f"spacing must be positive finite numbers (mm), got {spacing!r}")
    if not (math.isfinite(level) and level >= 0):
        raise ValueError(f"blur level must be a finite sd >= 0 (mm), got {level!r}")
    sigma_voxels = [level / s for s in spacing]
    direct = [0.0 if sig >= SIGMA_OPERATOR_VOXELS else sig for sig in sigma_voxels]
    out = ndimage.gaussian_filter(x, direct, mode="nearest", truncate=TRUNCATE)
    for axis, sig in enumerate(sigma_voxels):
        if sig >= SIGMA_OPERATOR_VOXELS:
            op = nearest_gaussian_operator(x.shape[axis], sig)
            moved = np.moveaxis(out, axis, -1)
            out = np.moveaxis(moved @ op.T.astype(moved.dtype, copy=False), -1, axis)
    return np.clip(out, 0.0, 1.0)


def nearest_gaussian_operator(n: int, sigma: float, truncate: float = TRUNCATE) -> np.ndarray:
    """The ``(n, n)`` matrix of a 1D Gaussian blur with edge extension (``mode="nearest"``).

    Row ``i`` holds the weights of output ``i``: tap ``k`` (``|k| <= r``, ``r = int(truncate *
    sigma + 0.5)`` as in scipy) weighs the mass of the normal distribution on ``[k - 1/2, k +
    1/2]``, normalised over ``[-r - 1/2, r + 1/2]``; taps falling outside the axis land on the
    edge voxel, so the first and last columns collect the tails. Rows sum to 1.
    """
    if n == 1:
        return np.ones((1, 1))
    r = int(truncate * sigma + 0.5)
    scale = sigma * math.sqrt(2.0)

    def cdf(t: np.ndarray | float) -> np.ndarray:
        return 0.5 * erf(np.clip(t, -r - 0.5, r + 0.5) / scale)

    total = 2.0 * float(cdf(r + 0.5))
    i = np.arange(n)[:, None]
    j = np.arange(n)[None, :]
    k = (j - i).astype(float)
    op = (cdf(k + 0.5) - cdf(k - 0.5)) / total
    op[:, 0] = (cdf(-i[:, 0] + 0.5) - cdf(-r - 0.5)) / total
    op[:, -1] = (cdf(r + 0.5) - cdf(n - 1 - i[:, 0] - 0.5)) / total
    return op
