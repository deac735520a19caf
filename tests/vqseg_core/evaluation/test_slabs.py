"""Held-out axial slabs: model-grid ranges mapped onto the input grid, and cropping."""

from __future__ import annotations

import numpy as np
import pytest

from vqseg_core.data.preprocess import RECIPES
from vqseg_core.evaluation.common import LoadedCase
from vqseg_core.evaluation.slabs import crop_slab, input_slices_for, parse_range


def test_same_spacing_maps_one_to_one() -> None:
    assert input_slices_for(RECIPES["brain_mri"], (20, 20, 181), (1, 1, 1), ["80:100"]) == [
        (80, 100)
    ]


def test_ct_ranges_follow_the_labels_mapping() -> None:
    """Every input slice in a returned run takes its labels from a held-out model slice."""
    recipe = RECIPES["ct"]
    shape, spacing = (8, 8, 133), (0.7, 0.7, 2.5)
    runs = input_slices_for(recipe, shape, spacing, ["14:28", "55:83"])
    assert len(runs) == 2
    image = np.zeros(shape, dtype=np.float32)
    _, ctx = recipe.apply(image, spacing)
    model_z = np.broadcast_to(np.arange(ctx.model_shape[-1]), ctx.model_shape).astype(np.int32)
    source = recipe.invert_labels(model_z, ctx)[0, 0]
    held = {z for a, b in runs for z in range(a, b)}
    for z in range(shape[-1]):
        from_held = 14 <= source[z] < 28 or 55 <= source[z] < 83
        assert (z in held) == from_held
    # 2 mm model slices 14..27 cover 28..56 mm, i.e. input slices (2.5 mm) about 11..22
    assert runs[0][0] in (11, 12) and runs[0][1] in (22, 23)


def test_crop_and_errors() -> None:
    case = LoadedCase("ct", np.arange(60.0).reshape(2, 3, 10), (1.0, 1.0, 2.0), np.ones((2, 3, 10)))
    slab = crop_slab(case, 2, 5)
    assert slab.case_id == "ct#z2-5" and slab.array.shape == (2, 3, 3)
    assert np.array_equal(slab.array, case.array[..., 2:5]) and slab.spacing == case.spacing
    with pytest.raises(ValueError, match="outside"):
        crop_slab(case, 5, 11)
    with pytest.raises(ValueError, match="start:stop"):
        parse_range("5-9")
    with pytest.raises(ValueError, match="empty"):
        parse_range("9:5")


def test_slab_cases_are_cropped_on_load(tmp_path) -> None:
    import nibabel as nib

    from vqseg_core.data.layouts import read_dataset
    from vqseg_core.evaluation.common import load_case
    from vqseg_core.evaluation.slabs import slab_cases

    (tmp_path / "images").mkdir()
    (tmp_path / "masks").mkdir()
    image = np.random.default_rng(0).random((8, 8, 20)).astype(np.float32)
    labels = np.zeros((8, 8, 20), np.uint8)
    labels[2:6, 2:6, 3:15] = 1
    nib.save(nib.Nifti1Image(image, np.eye(4)), tmp_path / "images" / "vol.nii.gz")
    nib.save(nib.Nifti1Image(labels, np.eye(4)), tmp_path / "masks" / "vol.nii.gz")
    cases = read_dataset(tmp_path).cases
    slabs = slab_cases(cases, RECIPES["brain_mri"], ["5:9", "12:14"])
    assert [c.case_id for c in slabs] == ["vol#z5-9", "vol#z12-14"]
    loaded = load_case(slabs[0])
    assert loaded.case_id == "vol#z5-9"
    np.testing.assert_array_equal(loaded.array, load_case(cases[0]).array[..., 5:9])
    np.testing.assert_array_equal(loaded.labels, labels[..., 5:9])
    with pytest.raises(ValueError, match="no input slice"):
        slab_cases(cases, RECIPES["brain_mri"], ["30:40"])
