"""load_training_data: split, recipe, slices and runs of the training cases."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from vqseg_core.data.cases import model_sample, read_case
from vqseg_core.data.layouts import read_dataset
from vqseg_core.data.spec import DataConfig, recipe_for
from vqseg_core.models.config import ModelConfig
from vqseg_core.train.config import TrainConfig
from vqseg_core.train.dataset import IGNORE, load_training_data


@pytest.fixture(scope="module")
def volumes(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three CT-like volumes (1.5 x 1.5 x 3 mm) with two labels, as paired folders."""
    root = tmp_path_factory.mktemp("volumes")
    (root / "images").mkdir()
    (root / "masks").mkdir()
    rng = np.random.default_rng(3)
    for i in range(3):
        image = rng.normal(0, 200, size=(12, 10, 6)).astype(np.float32)
        labels = np.zeros(image.shape, np.float32)
        labels[2:9, 2:8, 1:5] = 1
        labels[4:6, 4:6, 2:4] = 2
        affine = np.diag([1.5, 1.5, 3.0, 1.0])
        nib.save(nib.Nifti1Image(image, affine), root / "images" / f"case{i}.nii.gz")
        nib.save(nib.Nifti1Image(labels, affine), root / "masks" / f"case{i}.nii.gz")
    return root


def _config(dataset: Path, spatial_dims: int, **data) -> TrainConfig:
    model = ModelConfig(spatial_dims=spatial_dims, out_channels=3, channels=(8, 16), norm_groups=4)
    return TrainConfig(model=model, data=DataConfig(dataset=str(dataset), recipe="ct", **data))


def test_cases_are_split_then_mapped_to_the_model_grid(volumes: Path) -> None:
    config = _config(volumes, 3, split="ids", val_cases=("case1",))
    train, val = load_training_data(config)
    assert [s.case_id for s in train] == ["case0", "case2"] and [s.case_id for s in val] == ["case1"]
    cases = {c.case_id: c for c in read_dataset(volumes).cases}
    expected = model_sample(read_case(cases["case1"]), recipe_for(config.data))
    np.testing.assert_array_equal(val[0].image, expected.image)
    np.testing.assert_array_equal(val[0].label, expected.label)
    assert val[0].spacing == expected.spacing


def test_max_cases_truncates_before_splitting(volumes: Path) -> None:
    train, val = load_training_data(_config(volumes, 3, split="parity", max_cases=2))
    assert [s.case_id for s in train] == ["case1"] and [s.case_id for s in val] == ["case0"]


def test_a_2d_model_on_volumes_trains_on_axial_slices(volumes: Path) -> None:
    config = _config(volumes, 2, slices=True, split="ids", val_cases=("case2",))
    train, val = load_training_data(config)
    assert all(s.image.ndim == 3 and s.label.ndim == 2 and len(s.spacing) == 2 for s in train)
    assert {s.case_id.split("#")[0] for s in train} == {"case0", "case1"}
    assert {s.case_id.split("#")[0] for s in val} == {"case2"}
    assert train[0].case_id == "case0#z0"


def test_a_2d_model_on_volumes_needs_slices(volumes: Path) -> None:
    with pytest.raises(ValueError, match=r"data\.slices"):
        load_training_data(_config(volumes, 2))


def test_slice_split_holds_out_model_grid_slices(volumes: Path) -> None:
    config = _config(volumes, 2, slices=True, split="slices", val_slices=("2:4",), max_cases=1)
    train, val = load_training_data(config)
    assert [s.case_id for s in val] == ["case0#z2", "case0#z3"]
    assert "case0#z2" not in {s.case_id for s in train} and "case0#z0" in {s.case_id for s in train}


def test_slice_split_of_a_3d_model_trains_on_runs_and_scores_the_held_slices(
    volumes: Path,
) -> None:
    config = _config(volumes, 3, split="slices", val_slices=("2:4",), max_cases=1)
    train, val = load_training_data(config)
    n = val[0].label.shape[-1]
    assert [s.case_id for s in train] == ["case0#z0-2", f"case0#z4-{n}"]
    (held,) = val
    assert held.case_id == "case0#held-out" and held.image.shape[-1] == n
    assert (held.label[..., :2] == IGNORE).all() and (held.label[..., 4:] == IGNORE).all()
    assert (held.label[..., 2:4] != IGNORE).all()


def test_an_empty_dataset_field_is_refused() -> None:
    with pytest.raises(ValueError, match=r"data\.dataset is empty"):
        load_training_data(TrainConfig())
