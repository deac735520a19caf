"""The typicality score: typical images score about 1, shifted ones higher; AUC; round trip."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vqseg_core.analysis.ood import FeatureReference, auc, image_summary


def test_summary_pools_every_position_per_channel() -> None:
    f = torch.zeros(2, 3, 4, 4)
    f[:, 1] = 2.0
    f[1, 2] = 1.0  # channel 2: half the positions 0, half 1
    s = image_summary(f)
    assert s.shape == (6,)
    np.testing.assert_allclose(s[:3], [0.0, 2.0, 0.5])
    assert s[3] == 0.0 and s[5] > 0.4
    with pytest.raises(ValueError, match="B, D"):
        image_summary(torch.zeros(3, 4))


def test_shifted_images_score_higher_and_read_as_unusual(tmp_path) -> None:
    rng = np.random.default_rng(0)
    train = rng.normal(0, 1, size=(200, 8))
    ref = FeatureReference.fit(train, {"n": 200})
    typical = [ref.score(x) for x in rng.normal(0, 1, size=(50, 8))]
    shifted = [ref.score(x) for x in rng.normal(2.5, 1, size=(50, 8))]
    assert 0.7 < np.mean(typical) < 1.3
    assert auc(typical, shifted) > 0.95
    assert ref.reading(max(shifted)).startswith("unusual")
    assert ref.reading(float(np.median(ref.train_scores))) == "typical of the training images"
    again = FeatureReference.load(ref.save(tmp_path / "ref.json"))
    assert again.score(train[0]) == pytest.approx(ref.score(train[0]))
    assert again.source == {"n": 200}


def test_auc_counts_ties_as_half() -> None:
    assert auc([0, 1], [2, 3]) == 1.0 and auc([2, 3], [0, 1]) == 0.0
    assert auc([1.0], [1.0]) == 0.5
    with pytest.raises(ValueError):
        auc([], [1.0])
