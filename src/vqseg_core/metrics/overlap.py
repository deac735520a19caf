"""Dice overlap for binary masks and for label maps (background 0 excluded).

Empty-mask policy, shared with :mod:`vqseg_core.metrics.surface`: when prediction and target
are both empty the score is undefined and returned as ``nan`` (count such cases separately, as
:mod:`vqseg_core.evaluation.segmentation` does); when exactly one is empty Dice is 0.0 by its
formula.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from vqseg_core.metrics._arrays import binary_pair, label_pair, labels_present


def dice(pred: Any, target: Any) -> float:
    """Dice ``2|P n T| / (|P| + |T|)`` of two binary masks.

    Args:
        pred: binary mask (bool or 0/1), numpy array or torch tensor, any shape.
        target: binary mask of the same shape.

    Returns:
        Dice in [0, 1]; ``nan`` when both masks are empty.

    Raises:
        ValueError: shapes differ or a mask holds values other than 0/1 (use
            :func:`dice_per_class` for label maps).
    """
    p, t = binary_pair(pred, target)
    return _dice(p, t)


def dice_per_class(pred: Any, target: Any, labels: Sequence[int] | None = None) -> dict[int, float]:
    """Dice of each foreground label of two integer label maps.

    Args:
        pred: integer label map, numpy array or torch tensor.
        target: label map of the same shape.
        labels: the labels to score; default every non-zero label present in either map.
            Label 0 is background and is scored only if listed explicitly.

    Returns:
        ``{label: dice}``; ``nan`` for a label absent from both maps.
    """
    p, t = label_pair(pred, target)
    return {label: _dice(p == label, t == label) for label in labels_present(p, t, labels)}


def _dice(p: np.ndarray, t: np.ndarray) -> float:
    total = int(p.sum()) + int(t.sum())
    if total == 0:
        return float("nan")
    return 2.0 * int(np.logical_and(p, t).sum()) / total
