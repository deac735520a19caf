"""Downsampling and JPEG."""

from __future__ import annotations

import numpy as np
import pytest

from vqseg_core.perturb import corrupt


@pytest.mark.parametrize("shape", [(7, 9), (5, 6, 7)])
def test_downsample_keeps_constant_images_and_shape(shape: tuple[int, ...]) -> None:
    out = corrupt(np.full(shape, 0.25), "downsample", 3.0)
    assert out.shape == shape
    np.testing.assert_allclose(out, 0.25, atol=1e-12)


def test_downsample_removes_fine_detail() -> None:
    checker = (np.indices((16, 16)).sum(axis=0) % 2).astype(float)
    assert corrupt(checker, "downsample", 2.0).std() < 0.2 * checker.std()


def test_jpeg_at_high_quality_is_close_and_at_low_quality_is_not() -> None:
    yy, xx = np.mgrid[0:32, 0:32] / 31
    image = 0.5 + 0.4 * np.sin(3 * xx) * np.cos(2 * yy)
    assert np.abs(corrupt(image, "jpeg", 95) - image).mean() < 0.01
    assert (
        np.abs(corrupt(image, "jpeg", 1) - image).mean()
        > np.abs(corrupt(image, "jpeg", 95) - image).mean()
    )
    np.testing.assert_array_equal(corrupt(image, "jpeg", 100), image)


def test_jpeg_refuses_volumes() -> None:
    with pytest.raises(ValueError, match="jpeg"):
        corrupt(np.zeros((4, 4, 4)), "jpeg", 50)
