"""Training augmentations, each a pure function of a numpy generator (exact resume).

Two families:

* the project's small hand-written ones kept for old configs (``flip``, ``intensity``,
  ``noise``, ``bias_field``);
* the standard recipe built from MONAI transforms (``affine``: random rotation, scaling and
  translation of image and label together; ``contrast``: random gamma, intensity scale and
  shift) and ``corrupt``: one corruption kind and level per batch drawn from the project's
  registry (:data:`CORRUPT_KINDS` at 0 to :data:`CORRUPT_MAX_LEVEL` %), the noise-augmented
  baseline of the VQ study. MONAI's transforms take their randomness from a seed drawn from
  the step's generator, so a resumed run still sees the same batches.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

import numpy as np
from scipy import ndimage

from vqseg_core.perturb import PAPER_KINDS, corrupt, to_unit_range

__all__ = [
    "AUGMENTATIONS",
    "CORRUPT_KINDS",
    "CORRUPT_MAX_LEVEL",
    "BatchCorruption",
    "augment_sample",
    "draw_batch_corruption",
]

AUGMENTATIONS = ("flip", "intensity", "noise", "bias_field", "affine", "contrast", "corrupt")
"""Every augmentation name ``data.augment`` accepts."""

CORRUPT_KINDS = PAPER_KINDS
"""The corruption kinds of ``corrupt`` (the paper's three: Gaussian, salt and pepper, Poisson)."""

CORRUPT_MAX_LEVEL = 30.0
"""``corrupt`` draws its level uniformly from 0 to this (the paper's range, in %)."""

AFFINE_ROTATE_DEG = 10.0
AFFINE_SCALE = 0.1
AFFINE_TRANSLATE = 0.06
AFFINE_PROB = 0.8


@dataclass(frozen=True)
class BatchCorruption:
    """The corruption one batch shares: its kind and level (each sample its own noise seed)."""

    kind: str
    level: float


def draw_batch_corruption(rng: np.random.Generator) -> BatchCorruption:
    """The kind (uniform over :data:`CORRUPT_KINDS`) and level (uniform 0-30 %) of a batch."""
    kind = CORRUPT_KINDS[int(rng.integers(len(CORRUPT_KINDS)))]
    return BatchCorruption(kind, float(rng.uniform(0.0, CORRUPT_MAX_LEVEL)))


def augment_sample(
    image: np.ndarray,
    label: np.ndarray,
    rng: np.random.Generator,
    augment: Sequence[str],
    batch_corruption: BatchCorruption | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """One augmented ``(C, *spatial)`` float32 image and its int64 label.

    The order is fixed: geometry (``flip``, ``affine``), intensity (``intensity``, ``contrast``,
    ``bias_field``), noise (``noise``, ``corrupt``, the latter with ``batch_corruption``).
    """
    image = image.astype(np.float32, copy=True)
    if "flip" in augment and rng.random() < 0.5:
        image, label = image[..., ::-1].copy(), label[..., ::-1].copy()
    if "affine" in augment:
        image, label = _affine(image, label, _seed(rng))
    if "intensity" in augment:
        lo, hi = float(image.min()), float(image.max())
        if hi > lo:
            unit = (image - lo) / (hi - lo)
            unit = unit ** float(rng.uniform(0.7, 1.5))
            image = (unit * (hi - lo) + lo).astype(np.float32)
        image = image * np.float32(rng.uniform(0.9, 1.1))
    if "contrast" in augment:
        image = _contrast(image, _seed(rng))
    if "bias_field" in augment:
        image = image * _bias_field(label.shape, rng)[None]
    if "noise" in augment:
        image = image + rng.normal(0.0, 0.05, size=image.shape).astype(np.float32)
    if "corrupt" in augment:
        if batch_corruption is None:
            raise ValueError("augment 'corrupt' needs the batch's corruption")
        image = _corrupt(image, batch_corruption, _seed(rng))
    return image.astype(np.float32), label.astype(np.int64)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(2**31 - 1))


@cache
def _affine_transform(shape: tuple[int, ...]):
    """Rotation +-10 degrees, scaling +-10 %, translation +-6 % of each side, p = 0.8."""
    from monai.transforms import RandAffined

    rotate = float(np.deg2rad(AFFINE_ROTATE_DEG))
    return RandAffined(
        keys=("image", "label"),
        prob=AFFINE_PROB,
        rotate_range=(rotate,) if len(shape) == 2 else (rotate,) * 3,
        scale_range=(AFFINE_SCALE,) * len(shape),
        translate_range=[AFFINE_TRANSLATE * n for n in shape],
        mode=("bilinear", "nearest"),
        padding_mode="border",
    )


def _affine(image: np.ndarray, label: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """MONAI ``RandAffined`` on image and label together (label by nearest neighbour)."""
    transform = _affine_transform(tuple(label.shape))
    transform.set_random_state(seed=seed)
    out = transform({"image": image, "label": label[None]})
    return (
        np.asarray(out["image"], dtype=np.float32),
        np.asarray(out["label"])[0].round().astype(np.int64),
    )


@cache
def _contrast_transform():
    from monai.transforms import Compose, RandAdjustContrast, RandScaleIntensity, RandShiftIntensity

    return Compose(
        [
            RandAdjustContrast(prob=0.5, gamma=(0.7, 1.5)),
            RandScaleIntensity(factors=0.1, prob=0.5),
            RandShiftIntensity(offsets=0.05, prob=0.5),
        ]
    )


def _contrast(image: np.ndarray, seed: int) -> np.ndarray:
    """MONAI random gamma (0.7-1.5), intensity scale (+-10 %) and shift (+-0.05)."""
    transform = _contrast_transform()
    transform.set_random_state(seed=seed)
    return np.asarray(transform(image), dtype=np.float32)


def _corrupt(image: np.ndarray, corruption: BatchCorruption, seed: int) -> np.ndarray:
    """The batch's corruption in the image's own [0, 1] min-max frame, mapped back."""
    unit, mapping = to_unit_range(image.astype(np.float64), "minmax")
    noisy = corrupt(unit, corruption.kind, corruption.level, seed=seed, spatial_dims=image.ndim - 1)
    return np.asarray(mapping.inverse(noisy), dtype=np.float32)


def _bias_field(shape: tuple[int, ...], rng: np.random.Generator) -> np.ndarray:
    """A smooth multiplicative field exp(low-frequency noise) with values around 0.7-1.4."""
    coarse = rng.normal(0.0, 0.3, size=tuple(3 for _ in shape))
    zoom = [n / 3 for n in shape]
    field = ndimage.zoom(coarse, zoom, order=3, mode="nearest")
    field = field[tuple(slice(0, n) for n in shape)]
    return np.exp(field).astype(np.float32)
