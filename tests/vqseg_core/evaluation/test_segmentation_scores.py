"""Scores per case: classes the ground truth does not annotate are not scored."""

from __future__ import annotations

import math

import numpy as np

from vqseg_core.evaluation.common import LoadedCase
from vqseg_core.evaluation.segmentation import score_case_draws


def test_unannotated_classes_are_nan_and_left_out_of_the_means(tiny_pair) -> None:
    yy, xx = np.mgrid[:64, :64]
    disc = ((yy - 32) ** 2 + (xx - 32) ** 2) < 14**2
    image = np.where(disc, 0.6, 0.2).astype(np.float32)
    truth = disc.astype(np.int64)  # only class 1 ("ring") annotated, no "core"
    case = LoadedCase("c", image, (1.0, 1.0), truth)
    rows = score_case_draws(tiny_pair, case, "gaussian", 0.0, n_draws=1, seed=0, device="cpu")
    for row in rows:
        assert math.isnan(row["dice_core"]) and math.isnan(row["hd95_core"])
        assert row["empty_core"] == 0
        assert row["dice_mean"] == row["dice_ring"]
