"""The paper's three noises (and speckle, Rician): definitions and common random numbers."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from vqseg_core.perturb import corrupt
from vqseg_core.perturb.noise import poisson_quantile

GREY = np.full((64, 64), 0.5)
N = GREY.size
SEEDS = st.integers(0, 2**32 - 1)


@settings(max_examples=200)
@given(level=st.floats(0.5, 10.0), seed=SEEDS)
def test_gaussian_noise_sd_matches_the_level(level: float, seed: int) -> None:
    noise = corrupt(GREY, "gaussian", level, seed) - GREY
    sigma = level / 100
    assert abs(noise.std() - sigma) <= 6 * sigma / math.sqrt(2 * N)
    assert abs(noise.mean()) <= 6 * sigma / math.sqrt(N)


@settings(max_examples=200)
@given(level=st.floats(0.1, 15.0), seed=SEEDS, base=st.integers(0, 2**16))
def test_gaussian_noise_at_twice_the_level_is_twice_the_noise(
    level: float, seed: int, base: int
) -> None:
    image = np.random.default_rng(base).uniform(0.2, 0.8, (32, 32))
    once = corrupt(image, "gaussian", level, seed) - image
    twice = corrupt(image, "gaussian", 2 * level, seed) - image
    unclipped = (np.abs(twice + image - 0.5) < 0.5) & (np.abs(once + image - 0.5) < 0.5)
    np.testing.assert_allclose(twice[unclipped], 2 * once[unclipped], atol=1e-12)


@settings(max_examples=200)
@given(level=st.floats(0.0, 30.0), seed=SEEDS)
def test_salt_and_pepper_hits_the_expected_fraction_half_salt(level: float, seed: int) -> None:
    out = corrupt(GREY, "salt_and_pepper", level, seed)
    hit = out != 0.5
    q = level / 100
    assert abs(hit.mean() - q) <= 6 * math.sqrt(q * (1 - q) / N) + 1 / N
    assert set(np.unique(out[hit])) <= {0.0, 1.0}
    n_hit = int(hit.sum())
    if n_hit:
        assert abs((out[hit] == 1).mean() - 0.5) <= 6 * math.sqrt(0.25 / n_hit) + 1 / n_hit


@settings(max_examples=200)
@given(low=st.floats(0.0, 30.0), high=st.floats(0.0, 30.0), seed=SEEDS, base=st.integers(0, 2**16))
def test_salt_and_pepper_sets_are_nested_across_levels(
    low: float, high: float, seed: int, base: int
) -> None:
    low, high = min(low, high), max(low, high)
    image = np.random.default_rng(base).uniform(0.01, 0.99, (12, 12, 12))
    a = corrupt(image, "salt_and_pepper", low, seed)
    b = corrupt(image, "salt_and_pepper", high, seed)
    hit_a, hit_b = a != image, b != image
    assert not (hit_a & ~hit_b).any()
    np.testing.assert_array_equal(a[hit_a], b[hit_a])


def test_poisson_level_zero_is_the_identity() -> None:
    np.testing.assert_array_equal(corrupt(GREY, "poisson", 0.0, 3), GREY)


@settings(max_examples=200)
@given(level=st.floats(1.0, 10.0), seed=SEEDS)
def test_poisson_noise_sd_at_mid_grey_matches_the_level(level: float, seed: int) -> None:
    noise = corrupt(GREY, "poisson", level, seed) - GREY
    sigma = level / 100
    # the sd of a sample sd for Poisson counts: kurtosis 3 + 1/mu, mu = 0.5 c >= 25
    assert abs(noise.std() - sigma) <= 6 * sigma * math.sqrt(
        (2 + 1 / (0.5 * 0.5 / sigma**2)) / (4 * N)
    )
    assert abs(noise.mean()) <= 6 * sigma / math.sqrt(N)


@settings(max_examples=200)
@given(level=st.floats(0.0, 30.0), seed=SEEDS, base=st.integers(0, 2**16))
def test_poisson_counts_rise_with_intensity_under_one_seed(
    level: float, seed: int, base: int
) -> None:
    low = np.random.default_rng(base).random((16, 16)) * 0.5
    high = low + 0.3
    assert (corrupt(low, "poisson", level, seed) <= corrupt(high, "poisson", level, seed)).all()


def test_poisson_quantile_matches_scipy() -> None:
    rng = np.random.default_rng(0)
    u = rng.random(20_000)
    mu = rng.random(20_000) * 10.0 ** rng.uniform(-4, 6, 20_000)
    np.testing.assert_array_equal(poisson_quantile(u, mu), stats.poisson.ppf(u, mu))


def test_poisson_at_tiny_levels_stays_finite_and_close() -> None:
    out = corrupt(GREY, "poisson", 1e-9, 1)
    assert np.isfinite(out).all()
    np.testing.assert_allclose(out, GREY, atol=1e-9)


def test_speckle_leaves_black_pixels_black() -> None:
    image = np.zeros((8, 8))
    image[4:, :] = 0.5
    out = corrupt(image, "speckle", 30, 2)
    assert (out[:4] == 0).all() and (out[4:] != 0.5).any()


def test_rician_noise_on_black_is_rayleigh() -> None:
    out = corrupt(np.zeros((64, 64)), "rician", 10, 0)
    assert abs(out.mean() - 0.1 * math.sqrt(math.pi / 2)) < 0.005
    assert (out >= 0).all()
