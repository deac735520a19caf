"""Radiograph specifics (DICOM polarity and spacing, JSRT raw), policies and API contracts."""

from __future__ import annotations

import subprocess
import sys
from dataclasses import FrozenInstanceError
from pathlib import Path

import numpy as np
import pytest
import SimpleITK as sitk

from _io_builders import volume, write_dicom_grey, write_nifti
from vqseg_core.io import ImageLoadError, load_image, save_segmentation

PIXELS = (np.arange(6 * 5).reshape(6, 5) * 100 % 4096).astype(np.uint16)


def test_dicom_monochrome1_comes_back_inverted_with_pixel_spacing(tmp_path: Path) -> None:
    extra = [(0x0028, 0x0030, "DS", "0.2\\0.3"), (0x0008, 0x0060, "CS", "DX")]
    img = load_image(write_dicom_grey(tmp_path / "m1.dcm", PIXELS, "MONOCHROME1", 12, extra))
    assert img.source_format == "dicom" and img.modality == "XR"
    assert img.shape == (6, 5) and img.spacing == (0.2, 0.3)
    np.testing.assert_array_equal(img.array, 4095 - PIXELS.astype(np.float32))
    assert any("MONOCHROME1 inverted" in note for note in img.notes)
    assert img.metadata["spacing_source"] == "PixelSpacing"


def test_dicom_monochrome2_is_left_alone(tmp_path: Path) -> None:
    img = load_image(write_dicom_grey(tmp_path / "m2.dcm", PIXELS, "MONOCHROME2"))
    np.testing.assert_array_equal(img.array, PIXELS)
    assert not any("MONOCHROME1" in note for note in img.notes)


def test_dicom_imager_pixel_spacing_is_the_fallback(tmp_path: Path) -> None:
    extra = [(0x0018, 0x1164, "DS", "0.14\\0.15")]
    img = load_image(write_dicom_grey(tmp_path / "ips.dcm", PIXELS, extra=extra))
    assert img.spacing == (0.14, 0.15)
    assert img.metadata["spacing_source"] == "ImagerPixelSpacing"


def test_dicom_without_spacing_says_spacing_unknown(tmp_path: Path) -> None:
    extra = [(0x0028, 0x0030, "DS", "0.000\\0.000")]  # as in the real RG1_UNCR.dcm
    img = load_image(write_dicom_grey(tmp_path / "nosp.dcm", PIXELS, extra=extra))
    assert img.spacing == (1.0, 1.0)
    assert any("spacing unknown" in note for note in img.notes)


def test_dicom_radiograph_labels_save_with_spacing(tmp_path: Path) -> None:
    extra = [(0x0028, 0x0030, "DS", "0.2\\0.3")]
    img = load_image(write_dicom_grey(tmp_path / "sp.dcm", PIXELS, extra=extra))
    saved = sitk.ReadImage(str(save_segmentation(tmp_path / "seg.nrrd", img.array > 900, img)))
    assert saved.GetSpacing()[:2] == (0.3, 0.2)  # ITK order: (column, row)
    np.testing.assert_array_equal(sitk.GetArrayFromImage(saved).reshape(6, 5), PIXELS > 900)


def test_jsrt_raw_reads_big_endian_12_bit_at_0_175_mm(tmp_path: Path) -> None:
    raw = (np.arange(2048 * 2048) % 4096).astype(">u2").reshape(2048, 2048)
    path = tmp_path / "JPCNN001.IMG"
    path.write_bytes(raw.tobytes())
    img = load_image(path)
    assert img.source_format == "jsrt-raw" and img.modality == "XR"
    assert img.shape == (2048, 2048) and img.spacing == (0.175, 0.175)
    np.testing.assert_array_equal(img.array[0, :5], 4095 - np.arange(5))
    assert img.array.min() == 0 and img.array.max() == 4095


def test_nonfinite_replace_fills_zero_and_records_count(tmp_path: Path) -> None:
    data = volume(dtype=np.float32)
    data[0, 0, 0], data[1, 1, 1], data[2, 2, 2] = np.nan, np.inf, -np.inf
    img = load_image(write_nifti(tmp_path / "nan.nii", data), nonfinite="replace")
    assert img.metadata["nonfinite_count"] == 3
    assert np.isfinite(img.array).all() and (img.array == 0).sum() >= 3
    assert any("non-finite" in note for note in img.notes)


def test_clean_image_records_zero_nonfinite(tmp_path: Path) -> None:
    assert load_image(write_nifti(tmp_path / "ok.nii", volume())).metadata["nonfinite_count"] == 0


def test_invalid_nonfinite_policy_is_a_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="nonfinite"):
        load_image(write_nifti(tmp_path / "ok.nii", volume()), nonfinite="ignore")  # type: ignore[arg-type]


def test_image_load_error_is_a_value_error_with_path() -> None:
    err = ImageLoadError("/x/y/scan.nii", "broken")
    assert isinstance(err, ValueError) and err.path.name == "scan.nii" and err.problem == "broken"
    assert "scan.nii" in str(err) and "broken" in str(err)


def test_image_is_frozen(tmp_path: Path) -> None:
    img = load_image(write_nifti(tmp_path / "ok.nii", volume()))
    with pytest.raises(FrozenInstanceError):
        img.spacing = (1.0, 1.0, 1.0)  # type: ignore[misc]


@pytest.mark.parametrize(
    ("labels", "match"),
    [
        (np.zeros((4, 5, 6), np.uint8), "shape"),
        (np.full((6, 5, 4), -1), r"\[0, 65535\]"),
        (np.full((6, 5, 4), 70000), r"\[0, 65535\]"),
        (np.full((6, 5, 4), 0.5), "integers"),
    ],
)
def test_bad_labels_are_refused(tmp_path: Path, labels: np.ndarray, match: str) -> None:
    img = load_image(write_nifti(tmp_path / "ok.nii", volume()))
    with pytest.raises(ValueError, match=match):
        save_segmentation(tmp_path / "seg.nii.gz", labels, img)


def test_large_label_values_are_stored_as_uint16(tmp_path: Path) -> None:
    import nibabel as nib

    img = load_image(write_nifti(tmp_path / "ok.nii", volume()))
    out = save_segmentation(tmp_path / "seg.nii", np.full(img.shape, 300), img)
    assert nib.load(str(out)).get_data_dtype() == np.uint16


def test_2d_labels_cannot_go_to_nifti_and_unknown_suffix_refused(tmp_path: Path) -> None:
    img = load_image(write_dicom_grey(tmp_path / "x.dcm", PIXELS))
    with pytest.raises(ValueError, match="2D"):
        save_segmentation(tmp_path / "seg.nii", img.array > 0, img)
    with pytest.raises(ValueError, match=r"\.nii"):
        save_segmentation(tmp_path / "seg.bmp", img.array > 0, img)


def test_io_never_imports_napari_or_qt() -> None:
    code = (
        "import sys, vqseg_core.io, vqseg_core.io.dicom, vqseg_core.io.raster, vqseg_core.io.jsrt;"
        "bad=[m for m in sys.modules if m.split('.')[0] in ('napari','qtpy','PyQt5','PyQt6','PySide6')];"
        "assert not bad, bad"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_metadata_is_json_serialisable_for_every_format(tmp_path: Path) -> None:
    import json

    from _io_builders import sitk_volume, write_dicom_series, write_png, write_sitk

    paths = [
        write_nifti(tmp_path / "a.nii.gz", volume()),
        write_sitk(tmp_path / "a.nrrd", sitk_volume(volume((4, 5, 6)))),
        write_sitk(tmp_path / "a.mha", sitk_volume(volume((4, 5, 6)))),
        write_png(tmp_path / "a.png", np.zeros((4, 4, 3), np.uint8)),
        write_dicom_grey(tmp_path / "a.dcm", PIXELS, "MONOCHROME1"),
        write_dicom_series(tmp_path / "series", volume((3, 4, 4))),
    ]
    for path in paths:
        img = load_image(path)
        json.dumps(img.metadata)
        assert img.path == path and img.array.dtype == np.float32
