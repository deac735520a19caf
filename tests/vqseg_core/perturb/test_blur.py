"""Gaussian blur measured in millimetres."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vqseg_core.perturb import corrupt


def test_a_constant_image_is_unchanged() -> None:
    np.testing.assert_allclose(corrupt(np.full((9, 9, 5), 0.3), "gaussian_blur", 2.0), 0.3)


@settings(max_examples=200)
@given(level=st.floats(0.1, 2.5), k=st.sampled_from([0.5, 2.0]), base=st.integers(0, 2**16))
def test_blur_depends_on_millimetres_not_voxels(level: float, k: float, base: int) -> None:
    # k is a power of two so sigma in voxels is bit-identical (scipy's kernel radius jumps)
    image = np.random.default_rng(base).random((10, 9, 8))
    spacing = (0.8, 1.0, 2.0)
    a = corrupt(image, "gaussian_blur", level, spacing=spacing)
    b = corrupt(image, "gaussian_blur", level * k, spacing=tuple(s * k for s in spacing))
    np.testing.assert_allclose(a, b, atol=1e-12)


def test_coarse_axes_are_blurred_less() -> None:
    image = np.zeros((21, 21))
    image[10, 10] = 1.0
    out = corrupt(image, "gaussian_blur", 1.5, spacing=(1.0, 4.0))
    assert out[10, 11] < out[11, 10]


def test_operator_matches_scipy_where_both_run() -> None:
    # sigma 100 voxels on a 12-voxel axis: scipy still runs (801 taps), the operator must agree
    from scipy import ndimage

    from vqseg_core.perturb.blur import nearest_gaussian_operator

    x = np.random.default_rng(0).random(12)
    for sigma in (100.0, 250.0, 1000.0):  # the gap shrinks like 1 / sigma**2
        expected = ndimage.gaussian_filter1d(x, sigma, mode="nearest")
        got = nearest_gaussian_operator(12, sigma) @ x
        np.testing.assert_allclose(got, expected, atol=1e-6)
    np.testing.assert_allclose(nearest_gaussian_operator(12, 1e7).sum(axis=1), 1.0)


def test_wide_blur_uses_the_operator_and_agrees_with_scipy() -> None:
    image = np.random.default_rng(1).random((9, 11))
    spacing = (0.01, 1.0)  # 150 voxels along axis 0: the operator path
    out = corrupt(image, "gaussian_blur", 1.5, spacing=spacing)
    from scipy import ndimage

    expected = ndimage.gaussian_filter(image, (150.0, 1.5), mode="nearest")
    np.testing.assert_allclose(out, np.clip(expected, 0, 1), atol=1e-6)
