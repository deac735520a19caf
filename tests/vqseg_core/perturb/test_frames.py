"""Mapping raw intensities to the [0, 1] corruption frame and back."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vqseg_core.perturb import corrupt, to_unit_range


def test_minmax_maps_to_unit_range_and_inverts() -> None:
    image = np.random.default_rng(0).normal(100, 30, (16, 16))
    unit, mapping = to_unit_range(image, "minmax")
    assert unit.min() == 0 and unit.max() == 1
    np.testing.assert_allclose(mapping.inverse(unit), image)


def test_ct_window_clips_hounsfield_units_and_returns_float32_for_integers() -> None:
    hu = np.array([[-1000, -175], [37, 250], [400, 0]], dtype=np.int16)
    unit, mapping = to_unit_range(hu, "ct_window")
    assert unit.dtype == np.float32
    np.testing.assert_allclose(unit[:, 0], [0.0, (37 + 175) / 425, 1.0], rtol=1e-6)
    assert (mapping.low, mapping.high) == (-175.0, 250.0)
    np.testing.assert_allclose(mapping.inverse(unit)[1], [37, 250], rtol=1e-5)


def test_mr_percentiles_map_to_zero_and_one() -> None:
    image = np.random.default_rng(1).gamma(2.0, 100.0, 10_000)
    unit, mapping = to_unit_range(image, "mr_percentile")
    assert mapping.low == pytest.approx(np.percentile(image, 0.5))
    assert (unit == 0).mean() == pytest.approx(0.005, abs=1e-3)
    assert (unit == 1).mean() == pytest.approx(0.005, abs=1e-3)


def test_tensors_round_trip_through_a_corruption() -> None:
    raw = torch.randint(-500, 500, (1, 1, 8, 8))
    unit, mapping = to_unit_range(raw, "ct_window")
    assert isinstance(unit, torch.Tensor) and unit.dtype == torch.float32
    noisy = mapping.inverse(corrupt(unit, "gaussian", 5, seed=1))
    assert isinstance(noisy, torch.Tensor) and noisy.shape == raw.shape


def test_a_constant_image_maps_to_zero() -> None:
    unit, mapping = to_unit_range(np.full((3, 3), 7.0))
    np.testing.assert_array_equal(unit, 0.0)
    assert mapping.to_dict() == {"mode": "minmax", "low": 7.0, "high": 7.0}


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"mode": "zscore"}, "mode"),
        ({"mode": "ct_window", "window": (10, -10)}, "window"),
        ({"mode": "mr_percentile", "percentiles": (99, 1)}, "percentiles"),
    ],
)
def test_bad_frame_arguments_raise(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        to_unit_range(np.ones((2, 2)), **kwargs)


def test_non_finite_images_raise() -> None:
    with pytest.raises(ValueError, match="finite"):
        to_unit_range(np.array([0.0, np.inf]))
