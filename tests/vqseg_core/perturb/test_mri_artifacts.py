"""k-space artefacts and the bias field."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vqseg_core.perturb import corrupt

SEEDS = st.integers(0, 2**32 - 1)


@settings(max_examples=200)
@given(level=st.floats(0.0, 100.0), seed=SEEDS, dims=st.sampled_from([2, 3]))
def test_bias_field_gain_stays_within_the_level(level: float, seed: int, dims: int) -> None:
    image = np.full((12,) * dims, 0.4)
    gain = corrupt(image, "bias_field", level, seed) / 0.4
    top = 1 + level / 100
    assert gain.min() >= 1 / top - 1e-12 and gain.max() <= top + 1e-12


def test_bias_field_is_smooth_and_reaches_its_bound() -> None:
    gain = corrupt(np.full((32, 32), 0.4), "bias_field", 50, 3) / 0.4
    assert np.isclose(max(gain.max(), 1 / gain.min()), 1.5)
    assert np.abs(np.diff(gain, axis=0)).max() < 0.1


@settings(max_examples=200)
@given(level=st.floats(0.0, 10.0), seed=SEEDS, kind=st.sampled_from(["motion", "ghosting"]))
def test_a_constant_image_has_no_motion_or_ghosts(level: float, seed: int, kind: str) -> None:
    level = level * 10 if kind == "ghosting" else level
    np.testing.assert_allclose(corrupt(np.full((10, 12), 0.6), kind, level, seed), 0.6, atol=1e-12)


def test_motion_is_measured_in_millimetres() -> None:
    image = np.random.default_rng(0).random((16, 12, 8))
    a = corrupt(image, "motion", 2.0, 5, spacing=(1.0, 1.0, 2.0))
    b = corrupt(image, "motion", 4.0, 5, spacing=(2.0, 2.0, 4.0))
    np.testing.assert_allclose(a, b, atol=1e-12)
    assert np.abs(a - image).mean() > 0.01


def test_ghosting_makes_shifted_copies() -> None:
    image = np.zeros((32, 32))
    image[12:20, 12:20] = 1.0
    out = corrupt(image, "ghosting", 100, 0)
    assert out[image == 0].max() > 0.05


@settings(max_examples=200)
@given(level=st.floats(0.0, 50.0), seed=SEEDS)
def test_kspace_spike_on_black_is_a_flat_stripe_amplitude(level: float, seed: int) -> None:
    np.testing.assert_allclose(
        corrupt(np.zeros((8, 6, 4)), "kspace_spike", level, seed), level / 100, atol=1e-12
    )


def test_gibbs_rings_at_an_edge_and_ignores_the_seed() -> None:
    image = np.full((64, 8), 0.2)
    image[32:] = 0.6
    out = corrupt(image, "gibbs", 60, 0)
    assert out.max() > 0.6 + 1e-3 and out[:32].min() < 0.2 - 1e-3  # over- and undershoot
    np.testing.assert_array_equal(out, corrupt(image, "gibbs", 60, 9))


@pytest.mark.parametrize("shape", [(48, 40), (20, 16, 12)])
@pytest.mark.parametrize("level", [20.0, 50.0])
def test_gibbs_is_monais_gibbs_noise_at_alpha_level_over_100(shape, level) -> None:
    import torch
    from monai.transforms import GibbsNoise

    image = np.random.default_rng(3).random(shape)
    expected = np.clip(
        GibbsNoise(alpha=level / 100)(torch.from_numpy(image)[None])[0].numpy(), 0, 1
    )
    out = corrupt(image, "gibbs", level, 0)
    np.testing.assert_allclose(out, expected, atol=1e-6)
    assert np.abs(out - image).mean() > 1e-3  # it does ring


def test_gibbs_at_level_zero_is_the_identity() -> None:
    image = np.random.default_rng(4).random((16, 16))
    np.testing.assert_array_equal(corrupt(image, "gibbs", 0, 0), image)
