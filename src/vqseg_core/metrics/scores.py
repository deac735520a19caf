"""Per-case segmentation scores and their cohort summary, with empty masks counted apart.

HD95 and ASD are ``nan`` when either mask is empty (PAPER.md); a mean over cases then ignores
those cases, so :class:`CohortSummary` reports how many predictions were empty (a missed
structure), how many targets were empty and how many cases had both empty.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from vqseg_core.metrics._arrays import binary_pair
from vqseg_core.metrics.overlap import dice
from vqseg_core.metrics.summary import Summary, summarize
from vqseg_core.metrics.surface import average_surface_distance, hd95


@dataclass(frozen=True)
class CaseScores:
    """Scores of one binary prediction against its target.

    Attributes:
        dice: Dice in [0, 1]; ``nan`` when both masks are empty.
        hd95: HD95 in mm; ``nan`` when either mask is empty.
        asd: symmetric average surface distance in mm; ``nan`` when either mask is empty.
        pred_empty: the prediction has no foreground.
        target_empty: the target has no foreground.
    """

    dice: float
    hd95: float
    asd: float
    pred_empty: bool
    target_empty: bool


@dataclass(frozen=True)
class CohortSummary:
    """Summaries over cases, with the empty-mask cases counted.

    Attributes:
        dice: summary of Dice (both-empty cases are its ``n_nan``).
        hd95: summary of HD95 in mm (cases with any empty mask are its ``n_nan``).
        asd: summary of ASD in mm.
        n_cases: number of cases.
        n_empty_pred: empty prediction, non-empty target (missed structure; HD95 undefined).
        n_empty_target: empty target, non-empty prediction (false-positive structure).
        n_both_empty: both empty.
    """

    dice: Summary
    hd95: Summary
    asd: Summary
    n_cases: int
    n_empty_pred: int
    n_empty_target: int
    n_both_empty: int


def score_case(pred: Any, target: Any, spacing: float | Sequence[float]) -> CaseScores:
    """Dice, HD95 and ASD of one binary prediction (numpy or torch), spacing in mm."""
    p, t = binary_pair(pred, target)
    return CaseScores(
        dice=dice(p, t),
        hd95=hd95(p, t, spacing),
        asd=average_surface_distance(p, t, spacing),
        pred_empty=not p.any(),
        target_empty=not t.any(),
    )


def summarize_cases(cases: Iterable[CaseScores]) -> CohortSummary:
    """Summarise per-case scores; ``nan`` scores are ignored and the empty cases counted."""
    cases = list(cases)
    return CohortSummary(
        dice=summarize(c.dice for c in cases),
        hd95=summarize(c.hd95 for c in cases),
        asd=summarize(c.asd for c in cases),
        n_cases=len(cases),
        n_empty_pred=sum(c.pred_empty and not c.target_empty for c in cases),
        n_empty_target=sum(c.target_empty and not c.pred_empty for c in cases),
        n_both_empty=sum(c.pred_empty and c.target_empty for c in cases),
    )
