"""Additive, impulse and counting noise: the paper's three corruptions, plus speckle and Rician.

Every function takes an image already in the [0, 1] intensity frame (float64, spatial axes only),
a level in % of that range, and a fresh ``numpy.random.Generator`` made from the seed. The random
fields are drawn from the generator in a fixed order that does not depend on the level, so the
same seed at two levels gives the same pattern at two strengths (common random numbers):

- ``gaussian``: one standard-normal field ``z``; ``y = clip(x + (p/100) z, 0, 1)``.
- ``salt_and_pepper``: uniform fields ``u`` then ``v``; a pixel is hit iff ``u < p/100`` (so the
  hit set grows with the level), and becomes 1 (salt) if ``v < 0.5`` else 0 (pepper).
- ``poisson``: one uniform field ``u``; ``y = F^-1(u; x c) / c`` with ``F`` the Poisson CDF and
  ``c = 0.5 / (p/100)^2`` (inverse-CDF sampling), so counts rise monotonically with ``x c``.
- ``speckle``: one standard-normal field ``z``; ``y = clip(x (1 + (p/100) z), 0, 1)``.
- ``rician``: two standard-normal fields; ``y = clip(|x + s z1 + i s z2|, 0, 1)``, ``s = p/100``.
"""

from __future__ import annotations

import numpy as np
from scipy import special

# Above this mean count the Poisson quantile is taken from its Cornish-Fisher expansion: the
# error is below one count, i.e. below 1e-6 of the mean, far below the noise itself.
_EXACT_POISSON_MAX_MEAN = 1e6


def gaussian(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Additive Gaussian noise, sd ``level / 100``, clipped to [0, 1]."""
    z = rng.standard_normal(x.shape)
    return np.clip(x + (level / 100.0) * z, 0.0, 1.0)


def salt_and_pepper(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Each pixel replaced with probability ``level / 100``, half by 0 and half by 1."""
    u = rng.random(x.shape)
    v = rng.random(x.shape)
    hit = u < level / 100.0
    out = x.copy()
    out[hit] = (v[hit] < 0.5).astype(np.float64)
    return out


def poisson(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Photon-count noise ``Poisson(x c) / c``, ``c = 0.5 / (level/100)^2``, clipped to [0, 1].

    The noise sd at mid-grey (0.5) is ``level / 100``.
    """
    u = np.maximum(rng.random(x.shape), np.finfo(np.float64).tiny)
    inv_c = 2.0 * (level / 100.0) ** 2  # 1 / c, written so that tiny levels cannot overflow
    return np.clip(_scaled_poisson_quantile(u, x, inv_c), 0.0, 1.0)


def speckle(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Multiplicative noise ``x (1 + (level/100) z)``, clipped to [0, 1]."""
    z = rng.standard_normal(x.shape)
    return np.clip(x * (1.0 + (level / 100.0) * z), 0.0, 1.0)


def rician(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Magnitude of complex Gaussian noise of sd ``level / 100`` per channel, clipped to [0, 1]."""
    s = level / 100.0
    z1 = rng.standard_normal(x.shape)
    z2 = rng.standard_normal(x.shape)
    return np.clip(np.hypot(x + s * z1, s * z2), 0.0, 1.0)


def poisson_quantile(u: np.ndarray, mu: np.ndarray) -> np.ndarray:
    """Smallest integer ``k`` with ``P(Poisson(mu) <= k) >= u`` (elementwise; ``0 < u < 1``).

    Starts from the Cornish-Fisher guess and steps by one until the defining inequality holds;
    equals ``scipy.stats.poisson.ppf`` but is several times faster on large arrays.
    """
    u, mu = np.broadcast_arrays(np.asarray(u, dtype=np.float64), np.asarray(mu, dtype=np.float64))
    z = special.ndtri(u)
    k = np.maximum(np.floor(mu + np.sqrt(mu) * z + (z * z - 1.0) / 6.0 + 0.5), 0.0).ravel()
    flat_u, flat_mu = u.ravel(), mu.ravel()
    active = np.arange(k.size)
    while active.size:
        kk, uu, mm = k[active], flat_u[active], flat_mu[active]
        up = special.pdtr(kk, mm) < uu
        down = ~up & (kk > 0) & (special.pdtr(np.maximum(kk - 1.0, 0.0), mm) >= uu)
        k[active] = kk + up - down
        active = active[up | down]
    return k.reshape(u.shape)


def _scaled_poisson_quantile(u: np.ndarray, x: np.ndarray, inv_c: float) -> np.ndarray:
    """``poisson_quantile(u, x c) / c``, with the Cornish-Fisher form where the count is huge."""
    out = np.zeros_like(x)
    exact = (x > 0) & (x <= _EXACT_POISSON_MAX_MEAN * inv_c)
    if exact.any():
        out[exact] = poisson_quantile(u[exact], x[exact] / inv_c) * inv_c
    approx = (x > 0) & ~exact
    if approx.any():
        z = special.ndtri(u[approx])
        xa = x[approx]
        out[approx] = xa + np.sqrt(xa * inv_c) * z + (z * z - 1.0) / 6.0 * inv_c
    return out
