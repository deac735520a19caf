"""Answers without a ground truth: mask agreement, class sizes and their honest units."""

from __future__ import annotations

import numpy as np
import pytest

from vqseg_core.engine.score import class_sizes, mask_agreement, size_units

CLASSES = {1: "ring", 2: "core"}


def test_mask_agreement_is_mean_dice_over_the_classes_either_mask_has() -> None:
    a = np.zeros((10, 10), np.uint8)
    a[:5] = 1
    b = a.copy()
    assert mask_agreement(a, b) == 1.0
    b[:5, :5] = 2  # half of class 1 becomes class 2: Dice 1 -> 2/3, class 2 -> 0
    assert mask_agreement(a, b) == pytest.approx((2 * 25 / (50 + 25) + 0.0) / 2)
    assert mask_agreement(np.zeros((4, 4)), np.zeros((4, 4))) == 1.0


def test_class_sizes_in_mm2_with_spacing_and_in_pixels_without() -> None:
    labels = np.zeros((20, 10), np.uint8)
    labels[:4, :5] = 1  # 20 px
    labels[10:, :] = 2  # 100 px
    assert class_sizes(labels, CLASSES, None) == {"ring": 20.0, "core": 100.0}
    mm = class_sizes(labels, CLASSES, (0.5, 0.2))
    assert mm == pytest.approx({"ring": 2.0, "core": 10.0})
    assert class_sizes(np.zeros((3, 3), np.uint8), CLASSES, None) == {"ring": 0.0, "core": 0.0}
    assert size_units(2, None) == ("area", "px") and size_units(2, (1.0, 1.0)) == ("area", "mm²")


def test_class_sizes_of_a_volume_in_millilitres() -> None:
    labels = np.zeros((10, 10, 10), np.uint8)
    labels[:5, :4] = 1  # 200 voxels of 2 x 2 x 2.5 mm = 2000 mm3 = 2 mL
    sizes = class_sizes(labels, CLASSES, (2.0, 2.0, 2.5))
    assert sizes == pytest.approx({"ring": 2.0, "core": 0.0})
    assert size_units(3, None) == ("volume", "voxels")
    assert size_units(3, (1, 1, 1)) == ("volume", "mL")
