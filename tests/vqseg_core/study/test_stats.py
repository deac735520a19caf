"""The crossed (seeds x cases) bootstrap."""

from __future__ import annotations

import numpy as np
import pytest

from vqseg_core.study.stats import crossed_bootstrap


def test_interval_covers_the_mean_and_widens_with_seed_spread() -> None:
    rng = np.random.default_rng(0)
    cases = rng.normal(0.0, 0.05, size=50)
    tight = 0.9 + cases + rng.normal(0, 0.001, size=(5, 1))
    loose = 0.9 + cases + rng.normal(0, 0.05, size=(5, 1))
    a, b = crossed_bootstrap(tight), crossed_bootstrap(loose)
    for s in (a, b):
        assert s.low < s.mean < s.high
    assert (b.high - b.low) > 2 * (a.high - a.low)  # seed variation is in the interval


def test_two_seeds_give_no_interval_and_seeds_are_counted() -> None:
    stat = crossed_bootstrap(np.array([[0.1, 0.2, 0.3], [-0.1, -0.2, 0.0]]))
    assert not stat.has_interval and np.isnan(stat.low)
    assert stat.positive_seeds == 1 and stat.n_seeds == 2 and stat.n_cases == 3
    assert stat.mean == pytest.approx((0.2 - 0.1) / 2)


def test_nan_cells_are_ignored_and_an_empty_table_refused() -> None:
    table = np.array([[1.0, np.nan], [1.0, 1.0], [1.0, 1.0]])
    stat = crossed_bootstrap(table)
    assert stat.mean == 1.0 and stat.low == 1.0 and stat.high == 1.0
    with pytest.raises(ValueError, match="finite"):
        crossed_bootstrap(np.full((3, 2), np.nan))
