"""MR acquisition artefacts simulated in k-space, plus a smooth bias field.

The k-space corruptions return the magnitude of the inverse FFT (as an MR scanner does),
clipped to [0, 1]. Random choices (axes, directions, positions, polynomial coefficients) are
drawn from the generator before the level is used, so one seed fixes the pattern and the level
only scales its strength (common random numbers).
"""

from __future__ import annotations

import itertools

import numpy as np


def bias_field(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Multiply by a smooth field ``(1 + level/100) ** P`` with ``P`` a cubic polynomial, ``max|P| = 1``.

    The gain therefore lies between ``1 / (1 + level/100)`` and ``1 + level/100``.
    """
    coords = np.meshgrid(*[_unit_coords(n) for n in x.shape], indexing="ij")
    exponents = [e for e in itertools.product(range(4), repeat=x.ndim) if 1 <= sum(e) <= 3]
    coefficients = rng.uniform(-1.0, 1.0, size=len(exponents))
    poly = np.zeros(x.shape)
    for c, e in zip(coefficients, exponents, strict=True):
        poly += c * np.prod([g**k for g, k in zip(coords, e, strict=True)], axis=0)
    peak = float(np.abs(poly).max())
    if peak > 0:
        poly /= peak
    return np.clip(x * (1.0 + level / 100.0) ** poly, 0.0, 1.0)


def motion(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Rigid translation of ``level`` mm part-way through the acquisition.

    Phase-encoding lines are acquired in order of frequency along one random axis; from a random
    onset (30-70 % of the scan) the object is displaced by ``level`` mm in a random direction,
    which multiplies those lines by the matching phase ramp.
    """
    axis = int(rng.integers(x.ndim))
    direction = rng.standard_normal(x.ndim)
    direction /= max(float(np.linalg.norm(direction)), 1e-12)
    onset = rng.uniform(0.3, 0.7)
    shift_voxels = level * direction / np.asarray(spacing)
    freqs = np.meshgrid(*[np.fft.fftfreq(n) for n in x.shape], indexing="ij")
    phase = sum(f * d for f, d in zip(freqs, shift_voxels, strict=True))
    ramp = np.exp(-2j * np.pi * phase)
    moved = (freqs[axis] + 0.5) >= onset
    kspace = np.fft.fftn(x)
    kspace = np.where(moved, kspace * ramp, kspace)
    return _magnitude(kspace)


def ghosting(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Every ``n``-th k-space line along a random axis scaled by ``1 - level/100`` (``n`` in 2-8).

    Gives faint copies of the image shifted by multiples of ``size / n``; the central line is kept.
    """
    axis = int(rng.integers(x.ndim))
    period = int(rng.integers(2, 9))
    index = np.arange(x.shape[axis])
    lines = (index % period == 0) & (index != 0)
    gain = np.where(lines, 1.0 - level / 100.0, 1.0)
    gain = gain.reshape([-1 if a == axis else 1 for a in range(x.ndim)])
    return _magnitude(np.fft.fftn(x) * gain)


def kspace_spike(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """One spike in k-space at a random non-zero frequency: a stripe pattern of amplitude ``level/100``.

    The spike adds ``(level/100) exp(i (2 pi f.r + phi))`` to the image before taking the magnitude.
    """
    position = [int(rng.integers(n)) for n in x.shape]
    phi = rng.uniform(0.0, 2.0 * np.pi)
    if not any(position):
        position = [1 if n > 1 else 0 for n in x.shape]
    kspace = np.fft.fftn(x)
    kspace[tuple(position)] += (level / 100.0) * x.size * np.exp(1j * phi)
    return _magnitude(kspace)


def gibbs(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Truncation (Gibbs) ringing: MONAI's ``GibbsNoise`` with ``alpha = level / 100``.

    k-space outside a disc (sphere) of radius ``(1 - alpha) * max(shape) * sqrt(2) / 2``
    samples around its centre is zeroed: ``alpha = 0`` keeps every frequency, larger levels ring
    more. Deterministic. (Before 0.2 this was a hand-written box filter on ``|f| <= 0.5 (1 -
    level/100)``, which at level 20 changed the image about 6x more than MONAI at alpha 0.2;
    the MONAI transform is the field's definition, so the level now means MONAI's alpha.)
    """
    import torch
    from monai.transforms import GibbsNoise

    if level <= 0:
        return x.copy()
    out = GibbsNoise(alpha=float(level) / 100.0)(torch.from_numpy(np.ascontiguousarray(x))[None])
    return np.clip(np.asarray(out)[0], 0.0, 1.0).astype(x.dtype, copy=False)


def _unit_coords(n: int) -> np.ndarray:
    """``n`` evenly spaced coordinates on [-1, 1] (just 0 when ``n == 1``)."""
    return np.linspace(-1.0, 1.0, n) if n > 1 else np.zeros(1)


def _magnitude(kspace: np.ndarray) -> np.ndarray:
    """Magnitude image of a spectrum, clipped to [0, 1]."""
    return np.clip(np.abs(np.fft.ifftn(kspace)), 0.0, 1.0)
