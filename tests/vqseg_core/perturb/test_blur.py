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
