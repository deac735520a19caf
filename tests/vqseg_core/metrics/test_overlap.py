"""Dice for binary masks and label maps."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vqseg_core.metrics import dice, dice_per_class


@st.composite
def mask_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray]:
    dims = draw(st.sampled_from([2, 3]))
    side = 32 if dims == 2 else 12
    shape = tuple(draw(st.integers(1, side)) for _ in range(dims))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    density = draw(st.floats(0.0, 1.0))
    return rng.random(shape) < density, rng.random(shape) < draw(st.floats(0.0, 1.0))


@settings(max_examples=200)
@given(mask_pairs())
def test_dice_lies_in_unit_interval_and_is_symmetric(pair: tuple[np.ndarray, np.ndarray]) -> None:
    p, t = pair
    d = dice(p, t)
    if not p.any() and not t.any():
        assert math.isnan(d)
        return
    assert 0.0 <= d <= 1.0
    assert d == dice(t, p)
    if p.any():
        assert dice(p, p) == 1.0


def test_dice_of_known_overlap() -> None:
    p = np.zeros((4, 4), dtype=int)
    t = np.zeros((4, 4), dtype=int)
    p[0, :2] = 1
    t[0, 1:4] = 1
    assert dice(p, t) == pytest.approx(2 * 1 / (2 + 3))


def test_empty_policy_nan_when_both_empty_zero_when_one_is() -> None:
    empty, full = np.zeros((3, 3), bool), np.ones((3, 3), bool)
    assert math.isnan(dice(empty, empty))
    assert dice(empty, full) == 0.0 and dice(full, empty) == 0.0


def test_dice_accepts_tensors() -> None:
    assert dice(torch.ones(2, 2), torch.ones(2, 2, dtype=torch.bool)) == 1.0


def test_dice_refuses_label_maps_and_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="per_class"):
        dice(np.array([0, 2]), np.array([0, 1]))
    with pytest.raises(ValueError, match="shape"):
        dice(np.zeros(3), np.zeros(4))


def test_dice_per_class_scores_each_foreground_label() -> None:
    pred = np.array([[0, 1, 1], [2, 2, 0]])
    target = np.array([[0, 1, 0], [2, 2, 3]])
    scores = dice_per_class(pred, target)
    assert set(scores) == {1, 2, 3}
    assert scores[1] == pytest.approx(dice(pred == 1, target == 1))
    assert scores[2] == 1.0 and scores[3] == 0.0
    chosen = dice_per_class(pred, target, labels=[2, 5])
    assert chosen[2] == 1.0 and math.isnan(chosen[5])


def test_dice_per_class_refuses_fractional_labels() -> None:
    with pytest.raises(ValueError, match="integer"):
        dice_per_class(np.array([0.5, 1.0]), np.array([0, 1]))
