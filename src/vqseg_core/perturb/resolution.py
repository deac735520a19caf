"""Loss of resolution: down- then up-sampling, and JPEG compression (both deterministic)."""

from __future__ import annotations

import io

import numpy as np


def downsample(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """Shrink every axis by the factor ``level`` (anti-aliased), then resize back (linear).

    An axis of ``n`` voxels goes to ``max(1, round(n / level))`` voxels and back to ``n``.
    """
    from skimage.transform import resize

    small = tuple(max(1, round(n / level)) for n in x.shape)
    low = resize(x, small, order=1, mode="edge", anti_aliasing=True, preserve_range=True)
    back = resize(low, x.shape, order=1, mode="edge", anti_aliasing=False, preserve_range=True)
    return np.clip(back, 0.0, 1.0)


def jpeg(
    x: np.ndarray, level: float, rng: np.random.Generator, spacing: tuple[float, ...]
) -> np.ndarray:
    """8-bit greyscale JPEG round trip at quality ``round(level)`` (2D only).

    The corruption entry point treats quality 100 as "no compression" (the exact input).
    """
    from PIL import Image

    if x.ndim != 2:
        raise ValueError(f"jpeg needs a 2D image, got {x.ndim} spatial dimensions")
    pixels = np.round(x * 255.0).astype(np.uint8)
    buffer = io.BytesIO()
    Image.fromarray(pixels, mode="L").save(buffer, format="JPEG", quality=round(level))
    buffer.seek(0)
    with Image.open(buffer) as decoded:
        out = np.asarray(decoded.convert("L"), dtype=np.float64) / 255.0
    return out
