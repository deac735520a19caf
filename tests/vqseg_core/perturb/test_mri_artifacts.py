"""k-space artefacts and the bias field."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from vqseg_core.perturb import corrupt
from vqseg_core.perturb.mri_artifacts import (
    apply_bias_field,
    apply_ghosting,
    apply_motion,
    apply_spike,
    bias_field_terms,
)

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
@given(level=st.floats(0.0, 100.0), seed=SEEDS)
def test_kspace_spike_on_a_constant_is_a_stripe_of_level_percent_of_it(
    level: float, seed: int
) -> None:
    out = corrupt(np.full((8, 6, 4), 0.4), "kspace_spike", level, seed)
    assert out.max() == pytest.approx(0.4 * (1 + level / 100), abs=1e-12)
    assert out.min() >= 0.4 * (1 - level / 100) - 1e-12
    np.testing.assert_allclose(out.mean(), 0.4, atol=1e-12)  # the DC term is never hit


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


# --- TorchIO's deterministic transforms, with the parameters of the level mapping ---------------


def _torchio_apply(transform: object, x: np.ndarray) -> np.ndarray:
    """TorchIO on our 2D ``(H, W)`` (as its ``(H, W, 1)`` volume) or 3D image, back to float64."""
    import torch
    import torchio as tio

    volume = x[..., None] if x.ndim == 2 else x
    out = transform(tio.ScalarImage(tensor=torch.from_numpy(volume).float()[None]))  # type: ignore[operator]
    result = out.data[0].numpy().astype(np.float64)
    return result[..., 0] if x.ndim == 2 else result


SHAPES = [(24, 20), (16, 12, 10)]


@pytest.mark.parametrize("shape", SHAPES)
def test_bias_field_is_torchios(shape: tuple[int, ...]) -> None:
    tio = pytest.importorskip("torchio")
    x = np.random.default_rng(0).random(shape) * 0.5
    coefficients = np.random.default_rng(1).uniform(-0.3, 0.3, len(bias_field_terms(len(shape))))
    every_term = [
        (a, b, c) for a in range(4) for b in range(4 - a) for c in range(4 - a - b)
    ]  # TorchIO's order, with the constant and (2D) the z terms at 0
    full = np.zeros(len(every_term))
    for c, term in zip(coefficients, bias_field_terms(len(shape)), strict=True):
        full[every_term.index(term + (0,) * (3 - len(term)))] = c
    expected = _torchio_apply(tio.BiasField(coefficients=full.tolist(), order=3), x)
    np.testing.assert_allclose(apply_bias_field(x, coefficients), expected, atol=1e-6)


@pytest.mark.parametrize("shape", SHAPES)
def test_ghosting_is_torchios(shape: tuple[int, ...]) -> None:
    tio = pytest.importorskip("torchio")
    x = np.random.default_rng(2).random(shape)
    for axis in range(len(shape)):
        transform = tio.Ghosting(num_ghosts=3, axis=axis, intensity=0.6, restore=None)
        np.testing.assert_allclose(
            apply_ghosting(x, 3, axis, 0.6), _torchio_apply(transform, x), atol=1e-6
        )


@pytest.mark.parametrize("shape", SHAPES)
def test_spike_is_torchios(shape: tuple[int, ...]) -> None:
    tio = pytest.importorskip("torchio")
    x = np.random.default_rng(3).random(shape)
    position = np.array([0.3, 0.8, 0.45])[: len(shape)]
    positions = np.array([[*position, 0.0][:3]])
    expected = _torchio_apply(tio.Spike(spikes_positions=positions, intensity=0.4), x)
    np.testing.assert_allclose(apply_spike(x, position, 0.4), expected, atol=1e-6)


@pytest.mark.parametrize("time", [0.4, 0.6])
@pytest.mark.parametrize("translation", [(2, 0, 0), (0, 1, 0), (0, 0, 2), (1, -2, 1)])
def test_motion_is_torchios_for_whole_voxel_moves(
    translation: tuple[int, int, int], time: float
) -> None:
    """TorchIO resamples linearly: equal to our Fourier shift for whole voxels, object inside."""
    tio = pytest.importorskip("torchio")
    x = np.zeros((16, 14, 12))
    x[4:12, 4:10, 3:9] = np.random.default_rng(4).random((8, 6, 6)) * 0.8 + 0.1
    transform = tio.Motion(
        degrees=np.zeros((1, 3)),
        translation=np.array([translation], float),
        times=np.array([time]),
        image_interpolation="linear",
    )
    # TorchIO's translation is in LPS mm of a RAS identity affine: -z is +k in our voxel order
    shift = np.array(translation) * np.array([1, 1, -1])
    np.testing.assert_allclose(apply_motion(x, shift, time, 2), _torchio_apply(transform, x), atol=1e-6)


def test_the_registry_kinds_are_the_mapped_torchio_calls() -> None:
    """Each kind at a level = its apply_* with the documented parameters, drawn from the seed."""
    x = np.random.default_rng(5).random((20, 18)) * 0.6
    rng = np.random.default_rng(7)
    axis, num_ghosts = int(rng.integers(2)), int(rng.integers(2, 9))
    np.testing.assert_allclose(
        corrupt(x, "ghosting", 40, 7), np.clip(apply_ghosting(x, num_ghosts, axis, 0.4), 0, 1)
    )
    rng = np.random.default_rng(7)
    axis, direction, time = int(rng.integers(2)), rng.standard_normal(2), rng.uniform(0.3, 0.7)
    shift = 3.0 * direction / np.linalg.norm(direction) / np.array([0.5, 1.0])
    np.testing.assert_allclose(
        corrupt(x, "motion", 3.0, 7, spacing=(0.5, 1.0)),
        np.clip(apply_motion(x, shift, time, axis), 0, 1),
    )
    position = np.random.default_rng(7).random(2)
    np.testing.assert_allclose(
        corrupt(x, "kspace_spike", 30, 7), np.clip(apply_spike(x, position, 0.3), 0, 1)
    )
