"""Gamma and contrast."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from vqseg_core.perturb import corrupt


def test_gamma_is_a_power_law() -> None:
    image = np.linspace(0, 1, 11).reshape(1, 11).repeat(2, axis=0)
    np.testing.assert_allclose(corrupt(image, "gamma", 2.0), image**2)
    np.testing.assert_allclose(corrupt(image, "gamma", 0.5), np.sqrt(image))


@settings(max_examples=200)
@given(level=st.floats(0.0, 90.0), base=st.integers(0, 2**16))
def test_contrast_keeps_the_mean_and_shrinks_the_spread(level: float, base: int) -> None:
    image = np.random.default_rng(base).random((12, 12, 12))
    out = corrupt(image, "contrast", level)
    np.testing.assert_allclose(out.mean(), image.mean(), atol=1e-12)
    np.testing.assert_allclose(out.std(), (1 - level / 100) * image.std(), atol=1e-12)
