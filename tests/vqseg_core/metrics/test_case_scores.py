"""Per-case scores and cohort summaries that count empty predictions."""

from __future__ import annotations

import math

import numpy as np

from vqseg_core.metrics import score_case, summarize_cases


def _square(offset: int = 0) -> np.ndarray:
    m = np.zeros((20, 20), bool)
    m[5 + offset : 12 + offset, 5:12] = True
    return m


def test_a_case_with_both_masks_has_finite_scores() -> None:
    scores = score_case(_square(2), _square(), spacing=(0.5, 1.0))
    assert 0 < scores.dice < 1
    assert scores.hd95 == 1.0
    assert scores.asd > 0
    assert not scores.pred_empty and not scores.target_empty


def test_empty_predictions_are_counted_and_never_enter_the_means() -> None:
    empty = np.zeros((20, 20), bool)
    cases = [
        score_case(_square(1), _square(), 1.0),
        score_case(_square(3), _square(), 1.0),
        score_case(empty, _square(), 1.0),  # missed structure
        score_case(_square(), empty, 1.0),  # false positive
        score_case(empty, empty, 1.0),
    ]
    assert all(not math.isinf(v) for c in cases for v in (c.dice, c.hd95, c.asd))
    cohort = summarize_cases(cases)
    assert cohort.n_cases == 5
    assert (cohort.n_empty_pred, cohort.n_empty_target, cohort.n_both_empty) == (1, 1, 1)
    assert (cohort.hd95.n, cohort.hd95.n_nan) == (2, 3)
    assert cohort.hd95.mean == 2.0
    assert (cohort.dice.n, cohort.dice.n_nan) == (4, 1)
    assert cohort.dice.mean == np.mean([c.dice for c in cases[:4]])
