"""summarize(): mean, sd and CI that count the nan values they ignore."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from vqseg_core.metrics import summarize


def test_known_sample() -> None:
    s = summarize([1.0, 2.0, 3.0, 4.0, math.nan])
    assert (s.n, s.n_nan) == (4, 1)
    assert s.mean == 2.5
    assert s.sd == pytest.approx(np.std([1, 2, 3, 4], ddof=1))
    low, high = stats.t.interval(0.95, 3, loc=2.5, scale=s.sd / 2)
    assert (s.ci_low, s.ci_high) == (pytest.approx(low), pytest.approx(high))


def test_empty_and_single_samples() -> None:
    none = summarize([math.nan, math.nan])
    assert (none.n, none.n_nan) == (0, 2) and math.isnan(none.mean)
    one = summarize([0.7])
    assert one.mean == 0.7 and math.isnan(one.sd) and math.isnan(one.ci_low)


def test_inf_is_refused() -> None:
    with pytest.raises(ValueError, match="inf"):
        summarize([1.0, math.inf])
    with pytest.raises(ValueError, match="confidence"):
        summarize([1.0], confidence=1.0)


@settings(max_examples=200)
@given(st.lists(st.one_of(st.floats(-1e6, 1e6), st.just(math.nan)), max_size=50))
def test_counts_add_up_and_the_interval_holds_the_mean(values: list[float]) -> None:
    s = summarize(values)
    assert s.n + s.n_nan == len(values)
    assert s.n_nan == sum(math.isnan(v) for v in values)
    if s.n >= 2:
        assert s.ci_low <= s.mean + 1e-6 * (1 + abs(s.mean))
        assert s.mean <= s.ci_high + 1e-6 * (1 + abs(s.mean))
    assert s.to_dict()["n"] == s.n
