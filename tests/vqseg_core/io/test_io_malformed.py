"""Every malformed input raises ImageLoadError naming the file (RELIABILITY.md promise 4-6).

The fuzz files themselves are built by ``tests/fuzz_files.py`` (shared with the reader's test).
"""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import pytest
import SimpleITK as sitk

from _io_builders import sitk_volume, volume, write_nifti, write_sitk
from fuzz_files import (
    CASES,
    EXTENSIONS,
    RANDOM_SEEDS,
    dicom_without_pixels,
    empty_file,
    mha_absurd_dimsize,
    mha_truncated_raw,
    nifti_gz_cut_in_half,
    nifti_huge_header,
    nifti_huge_header_gz,
    nifti_nan,
    nifti_truncated,
    nrrd_truncated_raw,
    random_file,
)
from vqseg_core.io import ImageLoadError, load_image


def _assert_refused(path: Path) -> ImageLoadError:
    with pytest.raises(ImageLoadError) as info:
        load_image(path)
    assert path.name in str(info.value)
    return info.value


@pytest.mark.parametrize("case", sorted(CASES))
def test_malformed_file_raises_image_load_error_naming_the_file(tmp_path: Path, case: str) -> None:
    _assert_refused(CASES[case](tmp_path))


@pytest.mark.parametrize("ext", EXTENSIONS)
def test_empty_file_is_refused(tmp_path: Path, ext: str) -> None:
    assert "empty" in str(_assert_refused(empty_file(tmp_path, ext)))


@pytest.mark.parametrize("ext", EXTENSIONS)
@pytest.mark.parametrize("seed", RANDOM_SEEDS)
def test_random_bytes_are_refused(tmp_path: Path, ext: str, seed: int) -> None:
    _assert_refused(random_file(tmp_path, ext, seed))


def test_low_level_exception_is_chained(tmp_path: Path) -> None:
    err = _assert_refused(nifti_gz_cut_in_half(tmp_path))
    assert err.__cause__ is not None


def test_nan_error_names_the_count(tmp_path: Path) -> None:
    assert "1 non-finite" in str(_assert_refused(nifti_nan(tmp_path)))


def test_truncation_is_named_as_such(tmp_path: Path) -> None:
    for path in (
        nifti_truncated(tmp_path),
        nrrd_truncated_raw(tmp_path),
        mha_truncated_raw(tmp_path),
    ):
        assert "truncated" in str(_assert_refused(path))


def test_header_over_budget_is_refused_before_reading(tmp_path: Path, monkeypatch) -> None:
    path = write_nifti(tmp_path / "fine.nii", volume((40, 40, 40)))

    def no_read(*args, **kwargs):
        raise AssertionError("voxel data was read")

    monkeypatch.setattr(nib.arrayproxy.ArrayProxy, "__array__", no_read)
    with pytest.raises(ImageLoadError, match="budget"):
        load_image(path, max_bytes=100_000)
    for name in ("huge.nii", "huge.nii.gz"):
        builder = nifti_huge_header if name == "huge.nii" else nifti_huge_header_gz
        assert "budget" in str(_assert_refused(builder(tmp_path)))


def test_sitk_header_over_budget_is_refused(tmp_path: Path) -> None:
    path = write_sitk(tmp_path / "fine.mha", sitk_volume(volume((20, 20, 20))))
    with pytest.raises(ImageLoadError, match="budget"):
        load_image(path, max_bytes=10_000)
    assert "budget" in str(_assert_refused(mha_absurd_dimsize(tmp_path)))


def test_gzip_module_errors_never_escape(tmp_path: Path) -> None:
    path = tmp_path / "notgz.nii.gz"
    path.write_bytes(gzip.compress(b"x" * 400)[:-10])
    _assert_refused(path)


def test_dicom_non_image_reports_missing_image(tmp_path: Path) -> None:
    assert "no image" in str(_assert_refused(dicom_without_pixels(tmp_path)))


def test_simpleitk_is_not_used_for_nifti(tmp_path: Path, monkeypatch) -> None:
    def forbidden(*args, **kwargs):
        raise AssertionError("SimpleITK used for NIfTI")

    monkeypatch.setattr(sitk, "ReadImage", forbidden)
    monkeypatch.setattr(sitk, "ImageFileReader", forbidden)
    assert load_image(write_nifti(tmp_path / "ok.nii", volume())).array.shape == (6, 5, 4)
