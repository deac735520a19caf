"""Global intensity changes: gamma and contrast (deterministic, the generator is unused)."""

from __future__ import annotations

import numpy as np


def gamma(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Power law ``x ** level`` (``level`` is the exponent gamma; 1 is the identity)."""
    return np.clip(np.power(x, level), 0.0, 1.0)


def contrast(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Contrast reduced by ``level`` % around the image mean: ``m + (1 - level/100)(x - m)``."""
    m = float(x.mean())
    return np.clip(m + (1.0 - level / 100.0) * (x - m), 0.0, 1.0)
