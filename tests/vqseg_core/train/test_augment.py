"""The standard augmentation recipe (MONAI affine + contrast) and the registry corruption."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest

from vqseg_core.train.augment import (
    CORRUPT_KINDS,
    CORRUPT_MAX_LEVEL,
    BatchCorruption,
    augment_sample,
    draw_batch_corruption,
)

from ._synthetic import disc_sample


def _dice(a: np.ndarray, b: np.ndarray) -> float:
    return 2.0 * float((a & b).sum()) / float(a.sum() + b.sum())


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_affine_moves_image_and_label_together(spatial_dims) -> None:
    sample = disc_sample("a", 32 if spatial_dims == 2 else 16, seed=4, spatial_dims=spatial_dims)
    clean = sample.label.astype(np.float32)[None]  # an image that IS its label
    moved = 0
    for seed in range(6):
        image, label = augment_sample(clean, sample.label, np.random.default_rng(seed), ("affine",))
        assert image.shape == clean.shape and label.shape == sample.label.shape
        assert _dice(image[0] > 0.5, label == 1) > 0.9
        moved += not np.array_equal(label, sample.label)
    assert moved >= 3  # p = 0.8 per sample


def test_affine_is_a_pure_function_of_the_generator() -> None:
    sample = disc_sample("a", 32, seed=4)
    a = augment_sample(sample.image, sample.label, np.random.default_rng(9), ("affine", "contrast"))
    b = augment_sample(sample.image, sample.label, np.random.default_rng(9), ("affine", "contrast"))
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])


def test_batch_corruptions_cover_the_paper_kinds_and_range() -> None:
    rng = np.random.default_rng(0)
    drawn = [draw_batch_corruption(rng) for _ in range(300)]
    assert Counter(d.kind for d in drawn).keys() == set(CORRUPT_KINDS)
    levels = np.array([d.level for d in drawn])
    assert levels.min() >= 0 and levels.max() <= CORRUPT_MAX_LEVEL and levels.max() > 25


def test_corrupt_adds_noise_of_the_drawn_level_in_the_image_frame() -> None:
    sample = disc_sample("a", 64, seed=4)
    image = np.full((1, 64, 64), 0.5, np.float32)
    image[0, 0, 0], image[0, -1, -1] = 0.0, 1.0  # range 0..1: the unit frame is the image
    out, label = augment_sample(
        image, sample.label, np.random.default_rng(1), ("corrupt",), BatchCorruption("gaussian", 10)
    )
    np.testing.assert_array_equal(label, sample.label)
    assert abs(float(np.std(out[0, 1:-1, 1:-1])) - 0.10) < 0.01


def test_corrupt_without_the_batch_draw_is_refused() -> None:
    sample = disc_sample("a", 16, seed=4)
    with pytest.raises(ValueError, match="corruption"):
        augment_sample(sample.image, sample.label, np.random.default_rng(1), ("corrupt",))
