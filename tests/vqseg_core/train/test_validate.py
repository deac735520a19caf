"""Validation pools the slices of one volume; cases are averaged."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vqseg_core.train import validate as validate_module
from vqseg_core.train.data import Sample


def _sample(case_id: str, label: np.ndarray) -> Sample:
    return Sample(np.zeros((1, *label.shape), np.float32), label, case_id, (1.0, 1.0))


def test_slices_of_one_volume_are_pooled_and_cases_averaged(monkeypatch) -> None:
    truth_a = np.array([[1, 1], [0, 0]])
    truth_b = np.array([[0, 0], [0, 0]])  # no structure in this slice
    pred_a = np.array([[1, 1], [0, 0]])
    pred_b = np.array([[0, 0], [0, 1]])  # one false positive pixel
    case_c = np.array([[1, 0], [0, 0]])
    preds = {"vol#z0": pred_a, "vol#z1": pred_b, "other": np.array([[1, 1], [0, 0]])}
    samples = [_sample("vol#z0", truth_a), _sample("vol#z1", truth_b), _sample("other", case_c)]

    def by_sample(model, image, *args, **kwargs):
        return preds[order.pop(0)]

    order = [s.case_id for s in samples]
    monkeypatch.setattr(validate_module, "predict_labels", by_sample)
    model = torch.nn.Conv2d(1, 1, 1)
    scores = validate_module.validate(model, samples, {1: "thing"}, torch.device("cpu"), None)
    # volume: 2 true positives, 1 false positive -> 4/5; other case: 2*1/(2+1) = 2/3
    assert scores["thing"] == pytest.approx((4 / 5 + 2 / 3) / 2)


def test_ignored_voxels_are_not_scored(monkeypatch) -> None:
    truth = np.array([[1, -1], [0, -1]])
    monkeypatch.setattr(
        validate_module, "predict_labels", lambda *a, **k: np.array([[1, 1], [0, 1]])
    )
    scores = validate_module.validate(
        torch.nn.Conv2d(1, 1, 1),
        [_sample("v#held-out", truth)],
        {1: "thing"},
        torch.device("cpu"),
        None,
    )
    assert scores["thing"] == pytest.approx(1.0)
