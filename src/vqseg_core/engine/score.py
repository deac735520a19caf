"""Scores of a run against a ground truth: Dice and HD95 per class, one rule for all paths.

The rule for unannotated classes: a class absent from the whole ground truth (heart, for a
lungs-only mask) is **not scored** — such a mask cannot tell a right prediction of that class
from a wrong one. Its Dice and HD95 are ``nan`` and ``annotated`` is False; displays leave it
out, means over classes skip it. HD95 is in mm when the spacing is known, else in pixels
(:attr:`ClassScore.hd95_units`).

Without a ground truth, a mask can still be compared with another mask (:func:`mask_agreement`:
another model's, or the same model's on the clean image) and measured (:func:`class_sizes`:
area in mm² or pixels, volume in mL or voxels, :func:`size_units`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from vqseg_core.metrics import dice_per_class, hd95_per_class


@dataclass(frozen=True)
class ClassScore:
    """One class of one decoded draw against the ground truth.

    Attributes:
        dice: Dice (``nan`` when both masks are empty, or the class is not annotated).
        hd95: HD95 in ``hd95_units`` (``nan`` when either mask is empty or not annotated).
        predicted: the class occurs in the prediction.
        annotated: the class occurs in the ground truth (else it is not scored).
        hd95_units: ``"mm"`` or ``"px"`` (spacing unknown).
    """

    dice: float
    hd95: float
    predicted: bool
    annotated: bool
    hd95_units: str = "mm"

    @property
    def missed(self) -> bool:
        """An annotated class the prediction left out entirely."""
        return self.annotated and not self.predicted


def check_ground_truth(ground_truth: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray | None:
    """The ground truth as integer labels of ``shape`` (``ValueError`` otherwise)."""
    if ground_truth is None:
        return None
    gt = np.asarray(ground_truth)
    if gt.shape != tuple(shape):
        raise ValueError(f"ground truth shape {gt.shape} differs from the image shape {shape}")
    return np.rint(gt).astype(np.int64) if np.issubdtype(gt.dtype, np.floating) else gt


def annotated_classes(ground_truth: np.ndarray, classes: Mapping[int, str]) -> list[int]:
    """The label values of ``classes`` that occur in the ground truth (the scoring rule)."""
    present = set(np.unique(ground_truth).tolist())
    return [v for v in classes if v in present]


def score_labels(
    labels: np.ndarray,
    ground_truth: np.ndarray,
    classes: Mapping[int, str],
    spacing: Sequence[float] | None,
) -> dict[int, ClassScore]:
    """Every class of ``classes``: Dice and HD95 of ``labels`` against ``ground_truth``.

    Args:
        labels, ground_truth: integer label maps of the same shape (the input grid).
        classes: label value -> name.
        spacing: mm per axis, or ``None`` (unknown: HD95 in pixels).
    """
    values = annotated_classes(ground_truth, classes)
    units = "px" if spacing is None else "mm"
    mm = tuple(spacing) if spacing is not None else (1.0,) * ground_truth.ndim
    dice = dice_per_class(labels, ground_truth, values)
    hd = hd95_per_class(labels, ground_truth, mm, values)
    out = {}
    for v in classes:
        predicted = bool((labels == v).any())
        if v in values:
            out[v] = ClassScore(float(dice[v]), float(hd[v]), predicted, True, units)
        else:
            out[v] = ClassScore(float("nan"), float("nan"), predicted, False, units)
    return out


def score(run, ground_truth: np.ndarray) -> dict[str, list[dict[int, ClassScore]]]:
    """Each member's decoded draws against ``ground_truth``: ``{key: [per draw {value: score}]}``.

    Args:
        run: a :class:`~vqseg_core.engine.Run`.
        ground_truth: labels on the input grid (the image's shape).
    """
    gt = check_ground_truth(ground_truth, run.request.image.shape)
    assert gt is not None
    return {
        key: [score_labels(labels, gt, mr.member.classes, run.request.spacing) for labels in mr.labels]
        for key, mr in run.models.items()
    }


def named(scores: Mapping[int, ClassScore], classes: Mapping[int, str]) -> dict[str, dict[str, float]]:
    """``{class name: {"dice", "hd95"}}`` of the annotated classes (what the views show)."""
    return {
        classes[v]: {"dice": s.dice, "hd95": s.hd95} for v, s in scores.items() if s.annotated
    }


def mask_agreement(labels: np.ndarray, other: np.ndarray) -> float:
    """Mean Dice of ``labels`` against ``other`` over the classes (label > 0) either has; 1.0
    when both are empty. How far two masks agree, without a ground truth."""
    from vqseg_core.metrics import dice

    a, b = np.asarray(labels), np.asarray(other)
    classes = [int(c) for c in np.union1d(np.unique(a), np.unique(b)) if c != 0]
    if not classes:
        return 1.0
    return float(np.mean([dice(a == c, b == c) for c in classes]))


def size_units(ndim: int, spacing: Sequence[float] | None) -> tuple[str, str]:
    """``(what, units)`` of :func:`class_sizes`: ``("area", "mm²")`` or ``("area", "px")`` for
    a 2D image, ``("volume", "mL")`` or ``("volume", "voxels")`` for a volume (spacing
    unknown: counted in pixels, never in assumed millimetres)."""
    what = "area" if ndim == 2 else "volume"
    if spacing is None:
        return what, "px" if ndim == 2 else "voxels"
    return what, "mm²" if ndim == 2 else "mL"


def class_sizes(
    labels: np.ndarray, classes: Mapping[int, str], spacing: Sequence[float] | None
) -> dict[str, float]:
    """``{class name: size}`` of every class of ``classes`` (0 when absent), in the units of
    :func:`size_units`: pixel/voxel counts, times the pixel area (mm²) or the voxel volume
    (mL = 1000 mm³) when ``spacing`` (mm per axis) is known."""
    arr = np.asarray(labels)
    values = [v for v in classes if v != 0]
    top = max([int(arr.max()) if arr.size else 0, *values]) + 1
    counts = np.bincount(arr.reshape(-1).astype(np.int64), minlength=top)
    cell = 1.0 if spacing is None else float(np.prod([float(s) for s in spacing]))
    if spacing is not None and arr.ndim == 3:
        cell /= 1000.0  # mm³ -> mL
    return {classes[v]: float(counts[v]) * cell for v in values}
