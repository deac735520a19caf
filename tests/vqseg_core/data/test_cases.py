"""One case reader for training (model grid) and evaluation (input grid)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from vqseg_core.data import cases as cases_module
from vqseg_core.data.cases import (
    LoadedCase,
    Sample,
    dataset_cases,
    load_case,
    model_sample,
    read_case,
)
from vqseg_core.data.layouts import Case, case_spacing
from vqseg_core.data.preprocess import get_recipe
from vqseg_core.data.resample import resize_labels
from vqseg_core.io import load_image

SPACING = (1.5, 1.5, 3.0)


def _volume_case(root: Path, name: str, seed: int, shape=(20, 16, 6)) -> Case:
    rng = np.random.default_rng(seed)
    image = rng.normal(0, 300, size=shape).astype(np.float32)
    labels = np.zeros(shape, dtype=np.float32)
    labels[4:12, 3:10, 1:5] = 1
    labels[8:11, 5:8, 2:4] = 3
    affine = np.diag([*SPACING, 1.0])
    root.mkdir(parents=True, exist_ok=True)
    nib.save(nib.Nifti1Image(image, affine), root / f"{name}.nii.gz")
    nib.save(nib.Nifti1Image(labels, affine), root / f"{name}_seg.nii.gz")
    return Case(name, root / f"{name}.nii.gz", root / f"{name}_seg.nii.gz")


@pytest.fixture
def volume(tmp_path: Path) -> Case:
    return _volume_case(tmp_path, "vol", 0)


def test_read_case_gives_raw_image_and_integer_labels_on_one_grid(volume: Case) -> None:
    loaded = read_case(volume)
    image = load_image(volume.image)
    assert loaded.case_id == "vol" and loaded.spacing == pytest.approx(SPACING)
    np.testing.assert_array_equal(loaded.array, image.array)
    assert loaded.labels.dtype == np.int64 and loaded.labels.shape == loaded.array.shape
    assert set(np.unique(loaded.labels).tolist()) == {0, 1, 3}


def test_read_case_refuses_unlabelled_and_mismatched_cases(tmp_path: Path, volume: Case) -> None:
    with pytest.raises(ValueError, match="no label file"):
        read_case(Case("x", volume.image, None))
    other = _volume_case(tmp_path / "other", "small", 1, shape=(8, 8, 4))
    with pytest.raises(ValueError, match="label shape"):
        read_case(Case("x", volume.image, other.label))


def test_load_case_caches_the_last_case_and_crops_slabs(tmp_path: Path, volume: Case) -> None:
    first = load_case(volume)
    assert load_case(volume) is first
    assert set(cases_module._CACHE) == {(str(volume.image), str(volume.label))}
    slab = load_case(Case("vol#z1-4", volume.image, volume.label, extra={"slab": (1, 4)}))
    assert slab.case_id == "vol#z1-4" and slab.spacing == first.spacing
    np.testing.assert_array_equal(slab.array, first.array[..., 1:4])
    np.testing.assert_array_equal(slab.labels, first.labels[..., 1:4])
    other = _volume_case(tmp_path / "b", "b", 2)
    load_case(other)
    assert set(cases_module._CACHE) == {(str(other.image), str(other.label))}


def test_model_sample_is_the_recipe_applied_to_the_loaded_case(volume: Case) -> None:
    """The training sample as training computed it before the reader was shared."""
    recipe = get_recipe("ct")
    sample = model_sample(read_case(volume), recipe, {1: 2, 3: 1})

    image, label = load_image(volume.image), load_image(volume.label)
    x, ctx = recipe.apply(image.array, case_spacing(volume, image))
    y = np.rint(label.array).astype(np.int64)
    mapped = np.zeros_like(y)
    mapped[y == 1], mapped[y == 3] = 2, 1
    expected = resize_labels(mapped, ctx.model_shape).astype(np.int64)

    assert isinstance(sample, Sample) and sample.case_id == "vol"
    assert sample.image.dtype == np.float32 and sample.image.shape == (1, *ctx.model_shape)
    np.testing.assert_array_equal(sample.image, x[None].astype(np.float32))
    assert sample.label.dtype == np.int64
    np.testing.assert_array_equal(sample.label, expected)
    assert sample.spacing == tuple(ctx.model_spacing)


def test_model_sample_without_label_map_keeps_the_labels(volume: Case) -> None:
    loaded = read_case(volume)
    sample = model_sample(loaded, get_recipe("ct"))
    assert set(np.unique(sample.label).tolist()) <= {0, 1, 3}
    assert sample.label is not loaded.labels


def test_evaluation_and_training_read_through_the_same_loader() -> None:
    from vqseg_core.evaluation import common
    from vqseg_core.train import data

    assert common.load_case is load_case and common.LoadedCase is LoadedCase
    assert data.Sample is Sample


def test_dataset_cases_of_a_bundled_sample_and_of_a_folder(tmp_path: Path) -> None:
    from vqseg_core.data.samples import get_sample

    (case,) = dataset_cases("sample:ct-slab")
    sample = get_sample("ct-slab")
    assert (case.case_id, case.image, case.label) == ("ct-slab", sample.image, sample.labels)
    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    for name in ("a", "b"):
        for sub in ("images", "masks"):
            nib.save(
                nib.Nifti1Image(np.zeros((4, 4, 2), np.float32), np.eye(4)),
                tmp_path / sub / f"{name}.nii.gz",
            )
    assert sorted(c.case_id for c in dataset_cases(str(tmp_path))) == ["a", "b"]
