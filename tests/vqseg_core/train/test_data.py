"""SegmentationData: batches as a pure function of (seed, step, rank), crops, augmentations."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vqseg_core.train.data import (
    AUGMENTATIONS,
    Sample,
    SegmentationData,
    step_rng,
    step_torch_seed,
)

from ._synthetic import disc_sample, disc_samples


def _equal(a: tuple[torch.Tensor, torch.Tensor], b: tuple[torch.Tensor, torch.Tensor]) -> bool:
    return torch.equal(a[0], b[0]) and torch.equal(a[1], b[1])


@pytest.mark.parametrize("patch_size", [None, (16, 16)])
def test_batch_is_a_pure_function_of_seed_step_and_rank(patch_size) -> None:
    data = SegmentationData(disc_samples(5), patch_size, augment=AUGMENTATIONS)
    first = data.batch(step_rng(3, 10, 0), 4)
    assert _equal(first, data.batch(step_rng(3, 10, 0), 4))
    # a fresh sampler over the same cases gives the same batch too (no hidden state)
    assert _equal(
        first,
        SegmentationData(disc_samples(5), patch_size, AUGMENTATIONS).batch(step_rng(3, 10, 0), 4),
    )
    assert not _equal(first, data.batch(step_rng(3, 11, 0), 4))
    assert not _equal(first, data.batch(step_rng(3, 10, 1), 4))
    assert not _equal(first, data.batch(step_rng(4, 10, 0), 4))


def test_batches_do_not_depend_on_the_order_they_are_drawn_in() -> None:
    data = SegmentationData(disc_samples(5), (16, 16), augment=("flip", "noise"))
    forward = [data.batch(step_rng(0, s), 2) for s in range(6)]
    backward = [data.batch(step_rng(0, s), 2) for s in reversed(range(6))][::-1]
    assert all(_equal(a, b) for a, b in zip(forward, backward, strict=True))


def test_step_rng_and_torch_seed_are_counter_based() -> None:
    assert step_rng(1, 2, 3).integers(2**62) == step_rng(1, 2, 3).integers(2**62)
    assert step_rng(1, 2, 0).integers(2**62) != step_rng(1, 2, 1).integers(2**62)
    # the codebook's randomness must agree across ranks, and differ across steps
    assert step_torch_seed(1, 2, 0) == step_torch_seed(1, 2, 5)
    assert step_torch_seed(1, 2) != step_torch_seed(1, 3)
    assert 0 <= step_torch_seed(9, 9) < 2**63


@pytest.mark.parametrize(
    ("spatial_dims", "size", "patch_size", "expected"),
    [
        (2, 32, None, (32, 32)),
        (2, 32, (16, 8), (16, 8)),
        (3, 12, None, (12, 12, 12)),
        (3, 12, (8, 8, 4), (8, 8, 4)),
        (3, 12, (16, 8, 16), (16, 8, 16)),  # larger than the volume: padded
    ],
)
def test_batch_shapes_and_dtypes(spatial_dims, size, patch_size, expected) -> None:
    data = SegmentationData(disc_samples(3, size, spatial_dims=spatial_dims), patch_size)
    x, y = data.batch(step_rng(0, 0), 3)
    assert x.shape == (3, 1, *expected) and x.dtype == torch.float32
    assert y.shape == (3, 1, *expected) and y.dtype == torch.int64
    assert set(torch.unique(y).tolist()) <= {0, 1}


def test_padding_of_small_volumes_adds_background_only() -> None:
    sample = disc_sample("a", 12, seed=0, spatial_dims=3)
    data = SegmentationData([sample], (16, 16, 16), foreground_fraction=1.0)
    x, y = data.batch(step_rng(0, 0), 1)
    assert int(y.sum()) == int(sample.label.sum())  # the whole volume fits: nothing is lost
    assert torch.all(y[0, 0, 12:] == 0) and torch.isfinite(x).all()


def test_multichannel_images_keep_their_channels() -> None:
    base = disc_sample("a", 32, seed=0)
    sample = Sample(np.concatenate([base.image, -base.image]), base.label, "a", (1.0, 1.0))
    x, _ = SegmentationData([sample], (8, 8)).batch(step_rng(0, 0), 2)
    assert x.shape == (2, 2, 8, 8)
    torch.testing.assert_close(x[:, 1], -x[:, 0], rtol=0, atol=0)


@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_foreground_fraction_one_always_crops_foreground(spatial_dims) -> None:
    size, patch = (64, (6, 6)) if spatial_dims == 2 else (24, (4, 4, 4))
    samples = disc_samples(4, size, seed=5, spatial_dims=spatial_dims)
    data = SegmentationData(samples, patch, augment=("flip",), foreground_fraction=1.0)
    for step in range(30):
        _, y = data.batch(step_rng(0, step), 4)
        assert all(int(label.sum()) > 0 for label in y)


def test_foreground_fraction_zero_crops_background_sometimes() -> None:
    data = SegmentationData(disc_samples(4, 64, seed=5), (6, 6), foreground_fraction=0.0)
    labels = torch.cat([data.batch(step_rng(0, step), 4)[1] for step in range(20)])
    assert any(int(label.sum()) == 0 for label in labels)


def test_cases_without_foreground_are_still_cropped() -> None:
    empty = Sample(np.zeros((1, 20, 20), np.float32), np.zeros((20, 20), np.int64), "e", (1.0, 1.0))
    x, y = SegmentationData([empty], (8, 8), foreground_fraction=1.0).batch(step_rng(0, 0), 2)
    assert x.shape == (2, 1, 8, 8) and int(y.sum()) == 0


@pytest.mark.parametrize("augment", [(name,) for name in AUGMENTATIONS] + [AUGMENTATIONS])
@pytest.mark.parametrize("spatial_dims", [2, 3])
def test_augmentations_keep_shapes_and_label_values(augment, spatial_dims) -> None:
    size = 32 if spatial_dims == 2 else 12
    sample = disc_sample("a", size, seed=3, spatial_dims=spatial_dims)
    image_before, label_before = sample.image.copy(), sample.label.copy()
    data = SegmentationData([sample], None, augment=augment)
    flipped = sample.label[..., ::-1]
    seen_flip = False
    for step in range(8):
        x, y = data.batch(step_rng(0, step), 2)
        assert x.shape == (2, 1, *sample.label.shape) and x.dtype == torch.float32
        assert y.shape == (2, 1, *sample.label.shape) and y.dtype == torch.int64
        assert torch.isfinite(x).all()
        for label in y[:, 0].numpy():
            assert set(np.unique(label)) <= set(np.unique(sample.label))
            if "affine" in augment:
                continue  # moved with the image: test_affine_moves_image_and_label_together
            # labels are only ever flipped together with the image, never altered
            assert np.array_equal(label, sample.label) or (
                "flip" in augment and np.array_equal(label, flipped)
            )
            seen_flip |= not np.array_equal(label, sample.label)
    if "affine" not in augment:
        assert seen_flip == ("flip" in augment)
    np.testing.assert_array_equal(sample.image, image_before)  # the cases are not modified
    np.testing.assert_array_equal(sample.label, label_before)


@pytest.mark.parametrize("name", ["intensity", "noise", "bias_field", "contrast", "corrupt"])
def test_intensity_augmentations_change_the_image(name) -> None:
    sample = disc_sample("a", 32, seed=3)
    x, _ = SegmentationData([sample], None, augment=(name,)).batch(step_rng(0, 0), 1)
    assert not np.array_equal(x[0].numpy(), sample.image)


def test_flip_flips_image_and_label_together() -> None:
    sample = disc_sample("a", 32, seed=3)
    data = SegmentationData([sample], None, augment=("flip",))
    for step in range(8):
        x, y = data.batch(step_rng(0, step), 1)
        if np.array_equal(y[0, 0].numpy(), sample.label):
            np.testing.assert_array_equal(x[0].numpy(), sample.image)
        else:
            np.testing.assert_array_equal(x[0].numpy(), sample.image[..., ::-1])


def test_unknown_augmentation_raises_value_error_naming_it() -> None:
    with pytest.raises(ValueError, match="rotate"):
        SegmentationData(disc_samples(1), None, augment=("flip", "rotate"))


def test_no_cases_raises_value_error() -> None:
    with pytest.raises(ValueError, match="no training cases"):
        SegmentationData([], None)


def test_whole_images_of_different_shapes_need_a_patch_size() -> None:
    cases = [disc_sample("a", 32, 0), disc_sample("b", 16, 1)]
    with pytest.raises(ValueError, match="patch_size"):
        SegmentationData(cases, None)
    x, _ = SegmentationData(cases, (16, 16)).batch(step_rng(0, 0), 4)
    assert x.shape == (4, 1, 16, 16)
