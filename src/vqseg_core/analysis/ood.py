"""How unusual is an image for a model? A typicality score from its bottleneck features.

Each image is summarised by the mean and standard deviation, over latent positions, of every
bottleneck feature channel (the VQ-UNet's pre-quantisation features, the UNet's deepest
features). A :class:`FeatureReference` holds the per-dimension mean and standard deviation of
these summaries over the training images; an image's score is the mean squared z-score of its
summary (a diagonal Mahalanobis distance, which needs no covariance inverse and so works with
fewer training images than dimensions), and its *percentile* says where that score falls among
the training images' own scores. On the bundled chest set this separates the held-out JSRT
cases from Montgomery/Shenzhen radiographs (AUC in ``docs/results/ood/``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

__all__ = ["FeatureReference", "auc", "image_summary"]

UNUSUAL_PERCENTILE = 99.0
"""Scores above this percentile of the training images' scores read as unusual."""


@torch.no_grad()
def image_summary(features: torch.Tensor) -> np.ndarray:
    """``(2 D,)`` float64: per channel, the mean and sd over every position of ``(B, D, *S)``
    bottleneck features (``B`` > 1: the slices of one volume under a 2D network, pooled)."""
    f = features.detach().float()
    if f.ndim < 3:
        raise ValueError(f"need (B, D, *spatial) features, got shape {tuple(f.shape)}")
    f = f.movedim(1, 0).reshape(f.shape[1], -1)
    return torch.cat([f.mean(1), f.std(1)]).double().numpy()


@dataclass(frozen=True)
class FeatureReference:
    """Per-dimension statistics of training images' summaries, and their own scores.

    Attributes:
        mean, sd: ``(2 D,)`` over the training images.
        train_scores: the training images' scores, sorted (for percentiles).
        source: what it was fitted on (dataset, split, count, model sha256).
    """

    mean: np.ndarray
    sd: np.ndarray
    train_scores: np.ndarray
    source: dict[str, Any]

    @classmethod
    def fit(cls, summaries: np.ndarray, source: dict[str, Any] | None = None) -> FeatureReference:
        """Fit on ``(N, 2 D)`` summaries of training images (N >= 2)."""
        x = np.asarray(summaries, dtype=np.float64)
        if x.ndim != 2 or x.shape[0] < 2:
            raise ValueError(f"need (N >= 2, dims) summaries, got shape {x.shape}")
        mean, sd = x.mean(0), x.std(0) + 1e-6
        scores = np.sort((((x - mean) / sd) ** 2).mean(1))
        return cls(mean, sd, scores, dict(source or {}))

    def score(self, summary: np.ndarray) -> float:
        """Mean squared z-score of one image's summary (about 1 for a typical training image)."""
        z = (np.asarray(summary, dtype=np.float64) - self.mean) / self.sd
        return float((z**2).mean())

    def percentile(self, score: float) -> float:
        """Share (%) of training images with a lower score."""
        return float(100.0 * np.searchsorted(self.train_scores, score) / len(self.train_scores))

    def reading(self, score: float) -> str:
        """The score in plain words for the metrics table."""
        p = self.percentile(score)
        if p >= UNUSUAL_PERCENTILE:
            return "unusual for this model: results may be unreliable"
        if p >= 90.0:
            return "less typical than most training images"
        return "typical of the training images"

    def to_dict(self) -> dict[str, Any]:
        return {"mean": self.mean.tolist(), "sd": self.sd.tolist(),
                "train_scores": self.train_scores.tolist(), "source": self.source}  # fmt: skip

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureReference:
        return cls(np.asarray(data["mean"], dtype=np.float64), np.asarray(data["sd"], dtype=np.float64),
                   np.sort(np.asarray(data["train_scores"], dtype=np.float64)), dict(data.get("source", {})))  # fmt: skip

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(self.to_dict()), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> FeatureReference:
        return cls.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))


def auc(negatives: np.ndarray, positives: np.ndarray) -> float:
    """Area under the ROC curve: the chance that a positive scores above a negative (ties 1/2)."""
    neg, pos = np.asarray(negatives, dtype=np.float64), np.asarray(positives, dtype=np.float64)
    if not neg.size or not pos.size:
        raise ValueError("need at least one negative and one positive score")
    greater = (pos[:, None] > neg[None, :]).mean()
    ties = (pos[:, None] == neg[None, :]).mean()
    return float(greater + 0.5 * ties)
