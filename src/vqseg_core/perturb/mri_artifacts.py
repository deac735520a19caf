"""MR acquisition artefacts in k-space, and a smooth bias field, as TorchIO defines them.

Each kind is TorchIO's deterministic transform (``torchio.BiasField``, ``Motion``, ``Ghosting``,
``Spike``; TorchIO is not needed at run time, the tests compare with it on fixed parameters),
with the random parameters drawn from our generator before the level is used, so one seed fixes
the pattern and the level only scales its strength (common random numbers). Gibbs ringing is
MONAI's ``GibbsNoise``. Outputs are clipped to [0, 1]. Level mapping (level ``L`` in the
registry's units -> the library's parameter):

=============  ====================================================================================
kind           mapping
=============  ====================================================================================
bias_field     ``L`` %: ``BiasField(order=3, coefficients=c log(1 + L/100) / max|P_c|)``, ``c``
               uniform in [-1, 1] (no constant term), so the gain lies within ``1 +- L %`` (ratio).
motion         ``L`` mm: ``Motion(degrees=0, translation=L mm in a random direction, times=[t])``,
               ``t`` uniform in [0.3, 0.7]; k-space split along a random axis (TorchIO: the last);
               the displaced image by Fourier shift (TorchIO: linear resampling; equal for whole
               voxels inside the field of view).
ghosting       ``L`` %: ``Ghosting(num_ghosts=n, axis=random, intensity=L/100, restore=None)``,
               ``n`` in 2-8: every ``n``-th k-space plane attenuated by ``L`` %, centre kept.
kspace_spike   ``L`` %: ``Spike(spikes_positions=[p], intensity=L/100)``, ``p`` uniform in
               [0, 1)^d: stripes of amplitude ``L`` % of the image mean (``max |k|`` is the DC).
gibbs          ``L`` %: MONAI ``GibbsNoise(alpha=L/100)``.
=============  ====================================================================================

TorchIO works on 3D volumes: a 2D image here is its ``(H, W, 1)`` volume. Before 0.2 these were
our own variants (monomials on [-1, 1], magnitude images, lines counted from the unshifted
spectrum, a spike of absolute amplitude ``L`` %); see CHANGELOG.md.
"""

from __future__ import annotations

import math

import numpy as np

BIAS_ORDER = 3
"""Polynomial order of the bias field (TorchIO's ``RandomBiasField`` default)."""


def bias_field_terms(ndim: int, order: int = BIAS_ORDER) -> list[tuple[int, ...]]:
    """Exponents of the bias polynomial's terms in TorchIO's order, without the constant term.

    TorchIO loops ``x_order``, then ``y_order``, then ``z_order`` with total degree ``<= order``;
    a 2D image has the terms without ``z``.
    """
    terms = [
        (a, b, c)
        for a in range(order + 1)
        for b in range(order + 1 - a)
        for c in range(order + 1 - a - b)
    ]
    return [t[:ndim] for t in terms if sum(t) > 0 and not any(t[ndim:])]


def apply_bias_field(x: np.ndarray, coefficients: np.ndarray, order: int = BIAS_ORDER) -> np.ndarray:
    """``x * exp(P)`` with ``P = sum c_k m_k`` over :func:`bias_field_terms` (TorchIO's BiasField).

    The monomials live on TorchIO's grid: cell centres, each axis scaled to a maximum of 1.
    """
    return x * np.exp(_bias_polynomial(x.shape, coefficients, order))


def _bias_polynomial(shape: tuple[int, ...], coefficients: np.ndarray, order: int) -> np.ndarray:
    """The exponent of the bias field (see :func:`apply_bias_field`)."""
    axes = []
    for n in shape:
        centres = np.arange(-n / 2, n / 2) + 0.5
        axes.append(centres / centres.max() if centres.max() > 0 else centres)
    grids = np.meshgrid(*axes, indexing="ij")
    poly = np.zeros(shape)
    for c, e in zip(coefficients, bias_field_terms(len(shape), order), strict=True):
        poly += c * np.prod([g**k for g, k in zip(grids, e, strict=True)], axis=0)
    return poly


def bias_field(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Smooth multiplicative field ``(1 + level/100) ** (P / max|P|)``, ``P`` a random cubic.

    The gain lies between ``1 / (1 + level/100)`` and ``1 + level/100``; TorchIO's BiasField
    with the coefficients of the module's table.
    """
    raw = rng.uniform(-1.0, 1.0, size=len(bias_field_terms(x.ndim)))
    peak = float(np.abs(_bias_polynomial(x.shape, raw, BIAS_ORDER)).max())
    scale = math.log1p(level / 100.0) / peak if peak > 0 else 0.0
    return np.clip(apply_bias_field(x, raw * scale), 0.0, 1.0)


def apply_motion(x: np.ndarray, shift_voxels: np.ndarray, time: float, axis: int) -> np.ndarray:
    """TorchIO's Motion with one translation: k-space planes from before and after the move.

    The centred spectrum's planes along ``axis`` are split at ``int(n time)``; the part holding
    the centre comes from the image as it is (TorchIO's ``sort_spectra``: the first part when
    ``time > 0.5``), the other from the image moved by ``shift_voxels`` (a Fourier shift, which
    wraps around; TorchIO resamples linearly and fills with the minimum). Real part.
    """
    freqs = np.meshgrid(*[np.fft.fftfreq(n) for n in x.shape], indexing="ij")
    phase = sum(f * d for f, d in zip(freqs, shift_voxels, strict=True))
    still = _centred_spectrum(x)
    moved = np.fft.fftshift(np.fft.fftn(x) * np.exp(-2j * np.pi * phase))
    first = np.arange(x.shape[axis]) < int(x.shape[axis] * time)
    from_moved = ~first if time > 0.5 else first
    return _real_image(np.where(from_moved.reshape(_along(axis, x.ndim)), moved, still))


def motion(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Rigid translation of ``level`` mm in a random direction part-way through the scan."""
    axis = int(rng.integers(x.ndim))
    direction = rng.standard_normal(x.ndim)
    direction /= max(float(np.linalg.norm(direction)), 1e-12)
    time = rng.uniform(0.3, 0.7)
    return np.clip(apply_motion(x, level * direction / np.asarray(spacing), time, axis), 0.0, 1.0)


def apply_ghosting(x: np.ndarray, num_ghosts: int, axis: int, intensity: float) -> np.ndarray:
    """TorchIO's Ghosting (``restore=None``): every ``num_ghosts``-th centred-k-space plane
    along ``axis`` scaled by ``1 - intensity``, the central plane kept; real part."""
    spectrum = _centred_spectrum(x)
    n = x.shape[axis]
    gain = np.where(np.arange(n) % num_ghosts == 0, 1.0 - intensity, 1.0)
    gain[n // 2] = 1.0
    return _real_image(spectrum * gain.reshape(_along(axis, x.ndim)))


def ghosting(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Every ``n``-th k-space plane along a random axis attenuated by ``level`` % (``n`` in 2-8)."""
    axis = int(rng.integers(x.ndim))
    num_ghosts = int(rng.integers(2, 9))
    return np.clip(apply_ghosting(x, num_ghosts, axis, level / 100.0), 0.0, 1.0)


def apply_spike(x: np.ndarray, position: np.ndarray, intensity: float) -> np.ndarray:
    """TorchIO's Spike: ``intensity * max|k|`` added at ``floor(position * shape)`` of the centred
    spectrum (``position`` in [0, 1) per axis); real part."""
    spectrum = _centred_spectrum(x)
    index = tuple(int(i) for i in np.floor(np.asarray(position) * np.asarray(x.shape)))
    spectrum[index] += np.abs(spectrum).max() * intensity
    return _real_image(spectrum)


def kspace_spike(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """One spike at a random k-space position: stripes of amplitude ``level`` % of the mean.

    The centre (the DC term, a plain brightening) is moved one step off when drawn.
    """
    position = rng.random(x.ndim)
    shape = np.asarray(x.shape)
    index = np.floor(position * shape).astype(int)
    if np.array_equal(index, shape // 2):
        axis = int(np.argmax(shape))
        position[axis] = ((shape[axis] // 2 + 1) % shape[axis] + 0.5) / shape[axis]
    return np.clip(apply_spike(x, position, level / 100.0), 0.0, 1.0)


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


def _centred_spectrum(x: np.ndarray) -> np.ndarray:
    """``fftshift(fftn(x))``: the DC term at index ``n // 2`` of every axis (as TorchIO)."""
    return np.fft.fftshift(np.fft.fftn(x))


def _real_image(spectrum: np.ndarray) -> np.ndarray:
    """Real part of the image of a centred spectrum (TorchIO's choice; not clipped)."""
    return np.real(np.fft.ifftn(np.fft.ifftshift(spectrum)))


def _along(axis: int, ndim: int) -> list[int]:
    """Shape that broadcasts a vector along ``axis`` of an ``ndim``-D array."""
    return [-1 if a == axis else 1 for a in range(ndim)]
