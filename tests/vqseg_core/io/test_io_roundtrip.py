"""Geometry round trips: load -> label -> save_segmentation -> reload (RELIABILITY.md promise 7)."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
import skimage.io

from _io_builders import (
    rotation,
    sitk_volume,
    volume,
    write_dicom_series,
    write_nifti,
    write_png,
    write_sitk,
)
from vqseg_core.io import Image, load_image, save_segmentation
from vqseg_core.io.orientation import affine_from_itk


def _affine(linear: np.ndarray, offset: tuple[float, float, float]) -> np.ndarray:
    out = np.eye(4)
    out[:3, :3] = linear
    out[:3, 3] = offset
    return out


NIFTI_AFFINES = {
    "ras": _affine(np.diag([1.0, 2.0, 3.0]), (-3.0, 4.0, 5.0)),
    "lps": _affine(np.diag([-0.8, -0.9, 2.5]), (40.0, 50.0, -60.0)),
    "oblique": _affine(
        rotation(30, axis=2) @ rotation(10, axis=0) @ np.diag([0.7, 0.8, 2.0]), (1, 2, 3)
    ),
    "flipped_permuted": _affine(np.array([[0, 0, -2.0], [1.5, 0, 0], [0, -1.0, 0]]), (9, 8, 7)),
}

ITK_DIRECTIONS = {
    "identity_lps": np.eye(3),
    "flipped": np.diag([-1.0, 1.0, -1.0]),
    "oblique": rotation(20, axis=0) @ rotation(-35, axis=2),
    "permuted": np.array([[0, 1.0, 0], [0, 0, -1.0], [1.0, 0, 0]]),
}


def _assert_world_correspondence(
    img: Image, original: np.ndarray, original_affine: np.ndarray
) -> None:
    """Every canonical voxel holds the value of the stored voxel at the same world position."""
    idx = np.indices(img.array.shape).reshape(3, -1)
    world = img.affine @ np.vstack([idx, np.ones(idx.shape[1])])
    src = np.rint(np.linalg.inv(original_affine) @ world)[:3].astype(int)
    np.testing.assert_array_equal(original[tuple(src)], img.array.reshape(-1))


def _assert_canonical(img: Image) -> None:
    assert nib.aff2axcodes(img.affine) == ("R", "A", "S")
    assert img.array.dtype == np.float32
    np.testing.assert_allclose(img.spacing, np.linalg.norm(img.affine[:3, :3], axis=0))


@pytest.mark.parametrize("name", sorted(NIFTI_AFFINES))
def test_nifti_labels_land_on_the_original_grid(tmp_path: Path, name: str) -> None:
    affine = NIFTI_AFFINES[name]
    data = volume((6, 5, 4))
    src = write_nifti(tmp_path / f"{name}.nii.gz", data, affine)
    img = load_image(src)
    _assert_canonical(img)
    _assert_world_correspondence(img, data, affine)
    labels = (img.array > 100).astype(np.uint8) * 2
    out = save_segmentation(tmp_path / "seg.nii.gz", labels, img)
    saved = nib.load(str(out))
    np.testing.assert_allclose(saved.affine, affine, atol=1e-5)
    assert saved.get_data_dtype() == np.uint8
    assert int(saved.header["sform_code"]) == 1 and int(saved.header["qform_code"]) == 1
    np.testing.assert_array_equal(np.asanyarray(saved.dataobj), (data > 100).astype(np.uint8) * 2)


@pytest.mark.parametrize("name", sorted(NIFTI_AFFINES))
def test_nifti_source_saved_as_nrrd_keeps_geometry(tmp_path: Path, name: str) -> None:
    affine, data = NIFTI_AFFINES[name], volume((6, 5, 4))
    img = load_image(write_nifti(tmp_path / "src.nii", data, affine))
    out = save_segmentation(tmp_path / "seg.nrrd", (img.array > 50).astype(np.uint8), img)
    saved = sitk.ReadImage(str(out))
    geometry = affine_from_itk(saved.GetSpacing(), saved.GetOrigin(), saved.GetDirection())
    np.testing.assert_allclose(geometry, affine, atol=1e-5)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(saved).transpose(2, 1, 0), data > 50)


def test_nifti_scaled_ct_labels_are_written_unscaled(tmp_path: Path) -> None:
    raw = volume((6, 5, 4))
    img0 = nib.Nifti1Image(raw, np.diag([0.7, 0.7, 2.5, 1.0]))
    img0.header.set_slope_inter(1.0, -1024.0)
    nib.save(img0, str(tmp_path / "ct.nii"))
    img = load_image(tmp_path / "ct.nii")
    assert img.array.min() == raw.min() - 1024
    out = save_segmentation(tmp_path / "seg.nii", (img.array > -1000).astype(np.uint8), img)
    np.testing.assert_array_equal(nib.load(str(out)).get_fdata(), raw - 1024 > -1000)


def test_nifti_4d_singleton_is_squeezed_and_restored(tmp_path: Path) -> None:
    data = volume((6, 5, 4))[..., None]
    img = load_image(write_nifti(tmp_path / "t1.nii", data))
    assert img.shape == (6, 5, 4) and "singleton 4th axis squeezed" in img.notes
    out = save_segmentation(tmp_path / "seg.nii", img.array > 0, img)
    assert nib.load(str(out)).shape == (6, 5, 4, 1)


@pytest.mark.parametrize("suffix", [".nrrd", ".mha"])
@pytest.mark.parametrize("name", sorted(ITK_DIRECTIONS))
def test_itk_labels_keep_spacing_origin_direction(tmp_path: Path, suffix: str, name: str) -> None:
    data_zyx = volume((4, 5, 6))
    direction = tuple(ITK_DIRECTIONS[name].ravel())
    src = write_sitk(tmp_path / f"src{suffix}", sitk_volume(data_zyx, direction=direction))
    reference = sitk.ReadImage(str(src))
    img = load_image(src)
    assert img.source_format == suffix[1:]
    _assert_canonical(img)
    original_affine = affine_from_itk(reference.GetSpacing(), reference.GetOrigin(), direction)
    _assert_world_correspondence(img, data_zyx.transpose(2, 1, 0), original_affine)
    out = save_segmentation(tmp_path / f"seg{suffix}", (img.array > 100).astype(np.uint8), img)
    saved = sitk.ReadImage(str(out))
    np.testing.assert_allclose(saved.GetSpacing(), reference.GetSpacing())
    np.testing.assert_allclose(saved.GetOrigin(), reference.GetOrigin())
    np.testing.assert_allclose(saved.GetDirection(), reference.GetDirection(), atol=1e-12)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(saved), data_zyx > 100)
    nii = nib.load(str(save_segmentation(tmp_path / "seg.nii.gz", img.array > 100, img)))
    np.testing.assert_allclose(nii.affine, original_affine, atol=1e-5)
    np.testing.assert_array_equal(np.asanyarray(nii.dataobj), data_zyx.transpose(2, 1, 0) > 100)


@pytest.mark.parametrize("oblique", [False, True])
@pytest.mark.parametrize("suffix", [".nrrd", ".nii.gz"])
def test_dicom_series_labels_keep_the_series_geometry(
    tmp_path: Path, oblique: bool, suffix: str
) -> None:
    data_zyx = volume((5, 6, 7))
    direction = rotation(15, axis=2) if oblique else None
    folder = write_dicom_series(tmp_path / "series", data_zyx, direction=direction)
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder)))
    reference = reader.Execute()
    img = load_image(folder)
    assert img.source_format == "dicom-series" and img.modality == "CT"
    assert img.metadata["n_files"] == 5
    _assert_canonical(img)
    ref_affine = affine_from_itk(
        reference.GetSpacing(), reference.GetOrigin(), reference.GetDirection()
    )
    ref_xyz = sitk.GetArrayFromImage(reference).transpose(2, 1, 0)
    np.testing.assert_array_equal(ref_xyz.transpose(2, 1, 0), data_zyx)
    _assert_world_correspondence(img, ref_xyz, ref_affine)
    np.testing.assert_allclose(sorted(img.spacing), sorted([0.75, 0.8, 2.5]), atol=1e-4)
    out = save_segmentation(tmp_path / f"seg{suffix}", (img.array > 60).astype(np.uint8), img)
    if suffix == ".nrrd":
        saved = sitk.ReadImage(str(out))
        np.testing.assert_allclose(saved.GetSpacing(), reference.GetSpacing())
        np.testing.assert_allclose(saved.GetOrigin(), reference.GetOrigin())
        np.testing.assert_allclose(saved.GetDirection(), reference.GetDirection(), atol=1e-12)
        np.testing.assert_array_equal(sitk.GetArrayFromImage(saved), data_zyx > 60)
    else:
        saved = nib.load(str(out))
        np.testing.assert_allclose(saved.affine, ref_affine, atol=1e-4)
        np.testing.assert_array_equal(np.asanyarray(saved.dataobj), ref_xyz > 60)


def test_png_16_bit_keeps_full_range_and_labels_round_trip(tmp_path: Path) -> None:
    data = (np.arange(40 * 30).reshape(40, 30) * 50).astype(np.uint16)
    img = load_image(write_png(tmp_path / "x.png", data))
    assert img.shape == (40, 30) and img.spacing == (1.0, 1.0)
    assert img.array.max() == data.max() > 255
    np.testing.assert_array_equal(img.array, data)
    out = save_segmentation(tmp_path / "seg.png", img.array > 20000, img)
    np.testing.assert_array_equal(skimage.io.imread(out), (data > 20000).astype(np.uint8))
    tif = save_segmentation(tmp_path / "seg.tif", (img.array > 20000) * 300, img)
    assert skimage.io.imread(tif).dtype == np.uint16


@pytest.mark.parametrize("channels", [3, 4])
def test_rgb_png_becomes_luminance_and_says_so(tmp_path: Path, channels: int) -> None:
    rgb = np.zeros((8, 9, channels), np.uint8)
    rgb[..., 0], rgb[..., 1] = 200, 100
    if channels == 4:
        rgb[..., 3] = 255
    img = load_image(write_png(tmp_path / "rgb.png", rgb))
    assert img.shape == (8, 9)
    np.testing.assert_allclose(img.array, 0.2125 * 200 + 0.7154 * 100, rtol=1e-5)
    assert any("rgb converted to grey" in note for note in img.notes)


def test_jpeg_loads_as_grey_and_jpeg_output_is_refused(tmp_path: Path) -> None:
    skimage.io.imsave(tmp_path / "x.jpg", np.full((16, 16), 128, np.uint8), check_contrast=False)
    img = load_image(tmp_path / "x.jpg")
    assert img.source_format == "jpeg" and abs(float(img.array.mean()) - 128) < 2
    with pytest.raises(ValueError, match="JPEG"):
        save_segmentation(tmp_path / "seg.jpg", np.zeros(img.shape, np.uint8), img)


@pytest.mark.parametrize("suffix", [".mha", ".nrrd"])
def test_2d_itk_image_keeps_rows_cols_and_spacing(tmp_path: Path, suffix: str) -> None:
    data = volume((7, 9))  # numpy (rows, cols) = ITK (y, x)
    src = write_sitk(
        tmp_path / f"xr{suffix}", sitk_volume(data, spacing=(0.3, 0.2), origin=(5.0, 6.0))
    )
    img = load_image(src)
    assert img.shape == (7, 9) and img.spacing == (0.2, 0.3)
    np.testing.assert_array_equal(img.array, data)
    saved = sitk.ReadImage(str(save_segmentation(tmp_path / f"seg{suffix}", img.array > 50, img)))
    assert saved.GetSpacing() == (0.3, 0.2) and saved.GetOrigin() == (5.0, 6.0)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(saved), data > 50)
    png = save_segmentation(tmp_path / "seg.png", img.array > 50, img)
    np.testing.assert_array_equal(skimage.io.imread(png), data > 50)
