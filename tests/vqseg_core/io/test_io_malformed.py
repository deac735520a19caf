"""Every malformed input raises ImageLoadError naming the file (RELIABILITY.md promise 4-6)."""

from __future__ import annotations

import gzip
from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from _io_builders import (
    gzip_file,
    patch,
    sitk_volume,
    truncate,
    volume,
    write_dicom_grey,
    write_dicom_series,
    write_dicom_without_pixels,
    write_nifti,
    write_png,
    write_sitk,
)
from PIL import Image as PILImage

from vqseg_core.io import ImageLoadError, load_image

# NIfTI-1 header offsets (bytes)
DIM, DATATYPE, BITPIX, PIXDIM, VOX_OFFSET, MAGIC = 40, 70, 72, 76, 108, 344

Builder = Callable[[Path], Path]


def _nii(tmp: Path, name: str, data: np.ndarray | None = None) -> Path:
    return write_nifti(tmp / name, volume() if data is None else data)


def nifti_nan(tmp: Path) -> Path:
    data = volume(dtype=np.float32)
    data[1, 2, 3] = np.nan
    return _nii(tmp, "nan.nii", data)


def nifti_inf(tmp: Path) -> Path:
    data = volume(dtype=np.float32)
    data[0, 0, 0] = np.inf
    data[1, 1, 1] = -np.inf
    return _nii(tmp, "inf.nii.gz", data)


def nifti_float64_overflow(tmp: Path) -> Path:
    data = volume(dtype=np.float64)
    data[2, 2, 2] = 1e300  # finite in float64, +inf once cast to float32
    return _nii(tmp, "overflow.nii", data)


def nifti_truncated(tmp: Path) -> Path:
    return truncate(_nii(tmp, "cut.nii"), -50)


def nifti_gz_cut_in_half(tmp: Path) -> Path:
    src = _nii(tmp, "big_src.nii", np.random.default_rng(0).normal(size=(30, 30, 30)))
    return truncate(gzip_file(src, tmp / "half.nii.gz"), 0.5)


def nifti_vox_offset_past_end(tmp: Path) -> Path:
    return patch(_nii(tmp, "voxoffset.nii"), VOX_OFFSET, "f", 1e6)


def nifti_huge_header(tmp: Path) -> Path:
    path = _nii(tmp, "huge.nii")
    patch(path, DIM, "8h", 3, 32767, 32767, 32767, 1, 1, 1, 1)
    return truncate(path, 4096)


def nifti_huge_header_gz(tmp: Path) -> Path:
    src = patch(_nii(tmp, "huge_src.nii"), DIM, "8h", 3, 32767, 32767, 32767, 1, 1, 1, 1)
    return gzip_file(src, tmp / "huge.nii.gz")


def nifti_dim0_zero(tmp: Path) -> Path:
    return patch(_nii(tmp, "dim0.nii"), DIM, "h", 0)


def nifti_zero_length_axis(tmp: Path) -> Path:
    return patch(_nii(tmp, "zeroaxis.nii"), DIM + 4, "h", 0)


def nifti_negative_dim(tmp: Path) -> Path:
    return patch(_nii(tmp, "negdim.nii"), DIM + 2, "h", -6)


def nifti_rgb(tmp: Path) -> Path:
    rgb = np.zeros((4, 4, 3), dtype=[("R", "u1"), ("G", "u1"), ("B", "u1")])
    return write_nifti(tmp / "rgb.nii", rgb)


def nifti_5d(tmp: Path) -> Path:
    return _nii(tmp, "five.nii", np.zeros((3, 3, 3, 1, 2), np.int16))


def nifti_4d_series(tmp: Path) -> Path:
    return _nii(tmp, "series4d.nii.gz", np.zeros((3, 3, 3, 4), np.int16))


def nifti_1d(tmp: Path) -> Path:
    return _nii(tmp, "line.nii", np.zeros((7,), np.int16))


def nifti_bad_magic(tmp: Path) -> Path:
    return patch(_nii(tmp, "magic.nii"), MAGIC, "4s", b"xyz\0")


def nifti_complex(tmp: Path) -> Path:
    return _nii(tmp, "complex.nii", np.zeros((3, 3, 3), np.complex64))


def nifti_zero_pixdim(tmp: Path) -> Path:
    img = nib.Nifti1Image(volume(), None)
    img.header["pixdim"][1:4] = 0
    nib.save(img, str(tmp / "pixdim0.nii"))
    return tmp / "pixdim0.nii"


def png_garbage_after_magic(tmp: Path) -> Path:
    path = tmp / "garbage.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(np.random.default_rng(1).integers(0, 256, 300)))
    return path


def png_truncated(tmp: Path) -> Path:
    data = np.random.default_rng(2).integers(0, 255, (64, 64), dtype=np.uint8)
    return truncate(write_png(tmp / "cutpng.png", data), 0.6)


def png_with_jpeg_content(tmp: Path) -> Path:
    path = tmp / "jpeg_inside.png"
    PILImage.fromarray(np.zeros((8, 8), np.uint8)).save(path, format="JPEG")
    return path


def jpeg_truncated(tmp: Path) -> Path:
    data = np.random.default_rng(3).integers(0, 255, (64, 64), dtype=np.uint8)
    PILImage.fromarray(data).save(tmp / "cut.jpg")
    return truncate(tmp / "cut.jpg", 0.4)


def tiff_truncated(tmp: Path) -> Path:
    data = np.random.default_rng(4).integers(0, 65535, (64, 64), dtype=np.uint16)
    return truncate(write_png(tmp / "cut.tif", data), 0.5)


def tiff_multipage(tmp: Path) -> Path:
    frames = [PILImage.fromarray(np.full((8, 8), i, np.uint8)) for i in range(3)]
    frames[0].save(tmp / "pages.tif", save_all=True, append_images=frames[1:])
    return tmp / "pages.tif"


def _small_zyx() -> np.ndarray:
    return volume((4, 5, 6))


def nrrd_truncated_raw(tmp: Path) -> Path:
    return truncate(write_sitk(tmp / "cut.nrrd", sitk_volume(_small_zyx())), -40)


def nrrd_gzip_truncated(tmp: Path) -> Path:
    return truncate(write_sitk(tmp / "cutgz.nrrd", sitk_volume(_small_zyx()), True), -30)


def mha_truncated_raw(tmp: Path) -> Path:
    return truncate(write_sitk(tmp / "cut.mha", sitk_volume(_small_zyx())), -40)


def mha_compressed_truncated(tmp: Path) -> Path:
    return truncate(write_sitk(tmp / "cutz.mha", sitk_volume(_small_zyx()), True), -30)


def _mha_header(tmp: Path, name: str, dims: str, ndims: int = 3, body: bytes = b"\0" * 64) -> Path:
    head = (
        f"ObjectType = Image\nNDims = {ndims}\nDimSize = {dims}\nElementType = MET_SHORT\n"
        "ElementDataFile = LOCAL\n"
    ).encode()
    (tmp / name).write_bytes(head + body)
    return tmp / name


def mha_absurd_dimsize(tmp: Path) -> Path:
    return _mha_header(tmp, "absurd.mha", "100000 100000 100000")


def mha_zero_dimsize(tmp: Path) -> Path:
    return _mha_header(tmp, "zerodim.mha", "4 0 4")


def mha_4d(tmp: Path) -> Path:
    return _mha_header(tmp, "four.mha", "2 2 2 2", ndims=4)


def mhd_missing_raw(tmp: Path) -> Path:
    path = write_sitk(tmp / "detached.mhd", sitk_volume(_small_zyx()))
    for raw in tmp.glob("detached.*raw"):
        raw.unlink()
    return path


def mhd_truncated_raw(tmp: Path) -> Path:
    path = write_sitk(tmp / "detcut.mhd", sitk_volume(_small_zyx()))
    for raw in tmp.glob("detcut.*raw"):
        truncate(raw, 0.5)
    return path


def nrrd_zero_size(tmp: Path) -> Path:
    path = tmp / "zerosize.nrrd"
    path.write_bytes(
        b"NRRD0004\ntype: short\ndimension: 3\nsizes: 4 0 4\nencoding: raw\n\n" + b"\0" * 8
    )
    return path


def nrrd_float_nan(tmp: Path) -> Path:
    data = _small_zyx().astype(np.float32)
    data[0, 0, 0] = np.nan
    return write_sitk(tmp / "nan.nrrd", sitk_volume(data))


def jsrt_wrong_size(tmp: Path) -> Path:
    path = tmp / "JPCLN999.IMG"
    path.write_bytes(b"\0" * (2048 * 2048 * 2 - 2))
    return path


def jsrt_wrong_byte_order(tmp: Path) -> Path:
    path = tmp / "JPCLN998.IMG"
    path.write_bytes(np.full((2048, 2048), 4000, dtype="<u2").tobytes())  # little-endian: 40975
    return path


def dicom_without_pixels(tmp: Path) -> Path:
    return write_dicom_without_pixels(tmp / "report.dcm")


def dicom_truncated(tmp: Path) -> Path:
    pixels = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) % 4096
    return truncate(write_dicom_grey(tmp / "cutdicom.dcm", pixels), 0.6)


def dicom_folder_empty(tmp: Path) -> Path:
    (tmp / "empty_series").mkdir()
    (tmp / "empty_series" / "notes.txt").write_text("no dicom here", encoding="utf-8")
    return tmp / "empty_series"


def dicom_folder_two_series(tmp: Path) -> Path:
    folder = tmp / "two_series"
    write_dicom_series(folder, volume((2, 4, 4)), series_uid="1.2.3.1")
    write_dicom_series(folder / "sub", volume((2, 4, 4)), series_uid="1.2.3.2")
    for f in (folder / "sub").iterdir():
        f.rename(folder / f"b_{f.name}")
    return folder


def dicom_series_missing_slice(tmp: Path) -> Path:
    folder = write_dicom_series(tmp / "gappy", volume((5, 4, 4)))
    (folder / "slice_002.dcm").unlink()
    return folder


def dicom_cut_by_two_bytes(tmp: Path) -> Path:
    pixels = np.arange(64 * 64, dtype=np.uint16).reshape(64, 64) % 4096
    return truncate(write_dicom_grey(tmp / "cut2.dcm", pixels), -2)


def nrrd_holding_nifti_with_nan(tmp: Path) -> Path:
    src = nifti_nan(tmp)
    (tmp / "sniffed.nrrd").write_bytes(src.read_bytes())  # ITK would sniff NIfTI, zero the NaN
    return tmp / "sniffed.nrrd"


def unknown_extension(tmp: Path) -> Path:
    path = tmp / "scan.xyz"
    path.write_bytes(b"hello")
    return path


def missing_file(tmp: Path) -> Path:
    return tmp / "does_not_exist.nii.gz"


CASES: dict[str, Builder] = {
    f.__name__: f
    for f in (
        nifti_nan, nifti_inf, nifti_float64_overflow, nifti_truncated, nifti_gz_cut_in_half,
        nifti_vox_offset_past_end, nifti_huge_header, nifti_huge_header_gz, nifti_dim0_zero,
        nifti_zero_length_axis, nifti_negative_dim, nifti_rgb, nifti_5d, nifti_4d_series,
        nifti_1d, nifti_bad_magic, nifti_complex, nifti_zero_pixdim, png_garbage_after_magic,
        png_truncated, png_with_jpeg_content, jpeg_truncated, tiff_truncated, tiff_multipage,
        nrrd_truncated_raw, nrrd_gzip_truncated, mha_truncated_raw, mha_compressed_truncated,
        mha_absurd_dimsize, mha_zero_dimsize, mha_4d, mhd_missing_raw, mhd_truncated_raw,
        nrrd_zero_size, nrrd_float_nan, jsrt_wrong_size, jsrt_wrong_byte_order,
        dicom_without_pixels, dicom_truncated, dicom_folder_empty, dicom_folder_two_series,
        dicom_series_missing_slice, dicom_cut_by_two_bytes, nrrd_holding_nifti_with_nan,
        unknown_extension, missing_file,
    )
}  # fmt: skip

EXTENSIONS = [".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd", ".dcm", ".png", ".jpg",
              ".jpeg", ".tif", ".tiff", ".IMG"]  # fmt: skip


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
    path = tmp_path / f"empty{ext}"
    path.touch()
    assert "empty" in str(_assert_refused(path))


@pytest.mark.parametrize("ext", EXTENSIONS)
@pytest.mark.parametrize("seed", [0, 1])
def test_random_bytes_are_refused(tmp_path: Path, ext: str, seed: int) -> None:
    path = tmp_path / f"noise{seed}{ext}"
    path.write_bytes(bytes(np.random.default_rng(seed).integers(0, 256, 2000, dtype=np.uint8)))
    _assert_refused(path)


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
