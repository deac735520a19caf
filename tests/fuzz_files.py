"""The fuzz files of the io tests, shared with the plugin reader's fuzz test.

* :data:`CASES`: 58 builders of named malformed files (or folders, or a missing path), each
  ``builder(tmp) -> path`` (the last 12, from issue #16 "Hostile input", are built by
  ``tests/_hostile_builders.py``);
* :data:`SPECIAL_CASES`: FIFOs as images, detached data files and series members, to be run
  in a subprocess with a time limit (``tests/isolated.py``);
* :func:`empty_file` / :func:`random_file`: an empty file and random bytes for each of the 13
  :data:`EXTENSIONS` (seeds :data:`RANDOM_SEEDS`);
* :func:`valid_headers` and the Hypothesis strategy :func:`mutations`: byte mutations of real
  NIfTI, NRRD, MHA and PNG files (:data:`MUTATION_SUFFIXES`).

Importable as ``fuzz_files`` (``tests/`` is on ``sys.path`` through its ``conftest.py``).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import nibabel as nib
import numpy as np
from hypothesis import strategies as st
from PIL import Image as PILImage

from _hostile_builders import (
    dicom_frames_beyond_data,
    dicom_htj2k,
    dicom_mpeg4,
    dicom_series_one_position,
    dicom_series_truncated_slice,
    dicom_series_with_fifo,
    dicom_short_pixel_data,
    fifo_as_image,
    mha_corrupt_zlib,
    mhd_dev_zero,
    mhd_fifo_data_file,
    nhdr_dev_zero,
    nhdr_fifo_data_file,
    nhdr_list_short_part,
    nhdr_list_with_fifo,
    nifti_kilometre_spacing,
    nrrd_micrometre_spacing,
)
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
        # issue #16
        dicom_short_pixel_data, dicom_frames_beyond_data, dicom_htj2k, dicom_mpeg4,
        dicom_series_truncated_slice, dicom_series_one_position, mha_corrupt_zlib,
        nhdr_dev_zero, mhd_dev_zero, nrrd_micrometre_spacing, nifti_kilometre_spacing,
        nhdr_list_short_part,
    )
}  # fmt: skip


#: Builders whose file a careless reader would open and wait on forever.
SPECIAL_CASES: dict[str, Builder] = {
    f.__name__: f
    for f in (
        fifo_as_image, nhdr_fifo_data_file, mhd_fifo_data_file, nhdr_list_with_fifo,
        dicom_series_with_fifo,
    )
}  # fmt: skip

EXTENSIONS = [".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd", ".dcm", ".png", ".jpg",
              ".jpeg", ".tif", ".tiff", ".IMG"]  # fmt: skip


RANDOM_SEEDS = (0, 1)


def empty_file(tmp: Path, ext: str) -> Path:
    """A zero-byte file ``empty{ext}``."""
    path = tmp / f"empty{ext}"
    path.touch()
    return path


def random_file(tmp: Path, ext: str, seed: int) -> Path:
    """2000 random bytes in ``noise{seed}{ext}``."""
    path = tmp / f"noise{seed}{ext}"
    path.write_bytes(bytes(np.random.default_rng(seed).integers(0, 256, 2000, dtype=np.uint8)))
    return path


MUTATION_SUFFIXES = (".nii", ".nrrd", ".mha", ".png")
MUTATION_EXAMPLES = 75  # Hypothesis examples per suffix: 4 x 75 = 300 mutations


def valid_headers(folder: Path) -> dict[str, tuple[bytes, int]]:
    """Valid files ``v{suffix}`` written into ``folder``: their bytes per suffix and the length
    of the header (where mutations matter most)."""
    files = {
        ".nii": write_nifti(folder / "v.nii", volume((6, 5, 4))),
        ".nrrd": write_sitk(folder / "v.nrrd", sitk_volume(volume((4, 5, 6)))),
        ".mha": write_sitk(folder / "v.mha", sitk_volume(volume((4, 5, 6), np.float32))),
        ".png": write_png(folder / "v.png", (volume((12, 10), np.int32) % 256).astype(np.uint8)),
    }
    out = {}
    for suffix, path in files.items():
        raw = path.read_bytes()
        header = {".nii": 352, ".png": 33}.get(suffix) or raw.index(
            b"\n\n" if suffix == ".nrrd" else b"LOCAL\n"
        ) + 6
        out[suffix] = (raw, header)
    return out


@st.composite
def mutations(draw: st.DrawFn, raw: bytes, header: int) -> tuple[bytes, bool]:
    """Mutated bytes, and whether only voxel data (after the header) was touched."""
    data = bytearray(raw)
    kind = draw(st.sampled_from(["header", "anywhere", "truncate"]))
    if kind == "truncate":
        cut = draw(st.integers(0, len(raw) - 1))
        return bytes(data[:cut]), False
    hi = header - 1 if kind == "header" else len(raw) - 1
    edits = draw(
        st.lists(st.tuples(st.integers(0, hi), st.integers(0, 255)), min_size=1, max_size=4)
    )
    for pos, value in edits:
        data[pos] = value
    return bytes(data), all(pos >= header for pos, _ in edits)
