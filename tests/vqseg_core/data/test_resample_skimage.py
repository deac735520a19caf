"""The resize is scikit-image's, and equals the scipy zoom the bundled models were trained with."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import ndimage

from vqseg_core.data.resample import resize_image, resize_labels


def _old_zoom(src: np.ndarray, shape: tuple[int, ...], order: int, antialias: bool) -> np.ndarray:
    """The hand-written resize of version 0.1 (edges onto edges, Gaussian before shrinking)."""
    zoom = tuple(m / n for m, n in zip(shape, src.shape, strict=True))
    if antialias and any(z < 1 for z in zoom):
        sigma = tuple(max(0.0, (1 / z - 1) / 2) for z in zoom)
        src = ndimage.gaussian_filter(src, sigma, mode="nearest")
    out = ndimage.zoom(src, zoom, order=order, mode="nearest", grid_mode=True)
    assert out.shape == shape
    return out


@pytest.mark.parametrize(
    ("shape", "target"),
    [((512, 512), (256, 256)), ((100, 77), (256, 256)), ((64, 64, 20), (32, 40, 31)),
     ((1024, 964), (256, 256))],
)  # fmt: skip
def test_resize_equals_the_old_zoom(shape, target) -> None:
    rng = np.random.default_rng(0)
    image = rng.random(shape).astype(np.float32)
    np.testing.assert_allclose(
        resize_image(image, target), _old_zoom(image, target, 1, True), atol=1e-6
    )
    labels = rng.integers(0, 4, shape).astype(np.uint8)
    out = resize_labels(labels, target)
    assert out.dtype == np.uint8
    np.testing.assert_array_equal(out, _old_zoom(labels, target, 0, False))
