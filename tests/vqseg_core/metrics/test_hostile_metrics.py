"""Metric inputs that used to give wrong numbers quietly: huge float labels, absurd spacings.

Before: ``dice_per_class`` cast float labels of 1e30 to int64 (overflow: a garbage label) and
``hd95`` at 1e300 mm spacing returned ``nan``. Now both are ``ValueError``s saying why.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from vqseg_core.metrics import average_surface_distance, dice_per_class, hd95, hd95_per_class


def _square(value: float = 1.0, dtype: type = np.float64) -> np.ndarray:
    a = np.zeros((8, 8), dtype)
    a[2:5, 2:5] = value
    return a


@pytest.mark.parametrize("value", [1e30, -1e30, 2.0**40])
def test_huge_float_labels_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="outside"):
        dice_per_class(_square(value), _square(value))


def test_huge_unsigned_labels_do_not_wrap() -> None:
    a = _square(0, np.uint64)
    a[0, 0] = np.uint64(2**63 + 5)
    with pytest.raises(ValueError, match="outside"):
        hd95_per_class(a, np.zeros_like(a), 1.0)


@pytest.mark.parametrize("value", [np.nan, np.inf])
def test_non_finite_labels_are_refused(value: float) -> None:
    with pytest.raises(ValueError, match="NaN or infinite"):
        dice_per_class(_square(value), _square(1.0))


@pytest.mark.parametrize("spacing", [1e300, 1e-300, 1e7, (1.0, 1e300)])
def test_absurd_spacings_are_refused(spacing) -> None:
    m = _square() > 0
    with pytest.raises(ValueError, match="spacing must lie between"):
        hd95(m, np.roll(m, 1, 0), spacing)
    with pytest.raises(ValueError, match="spacing must lie between"):
        average_surface_distance(m, np.roll(m, 1, 0), spacing)


def test_ordinary_inputs_still_score() -> None:
    m = _square() > 0
    assert hd95(m, np.roll(m, 1, 0), 1e5) == pytest.approx(1e5)
    assert hd95(m, np.roll(m, 1, 0), 1e-5) == pytest.approx(1e-5)
    assert dice_per_class(_square(2.0), _square(2.0)) == {2: 1.0}
    assert math.isnan(hd95(m, np.zeros_like(m), 1.0))  # empty mask: nan by policy
