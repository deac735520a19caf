"""Builders of the issue #16 "Hostile input" files for the io fuzz corpus (``fuzz_files``).

Garbage that used to load (short DICOM pixel data, undecodable zlib, ``/dev/zero`` as a data
file), unclear errors (unsupported transfer syntaxes, a truncated series slice), extreme
spacings, and special files (FIFOs) that a careless reader would open and wait on forever.
Each builder is ``builder(tmp) -> path``; :mod:`fuzz_files` registers them in ``CASES`` and
``SPECIAL_CASES``.
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from _io_builders import (
    sitk_volume,
    truncate,
    volume,
    write_dicom_encapsulated,
    write_dicom_raw_pixels,
    write_dicom_series,
    write_dicom_series_one_position,
    write_mhd,
    write_nhdr,
    write_nifti,
    write_sitk,
)


def _small_zyx() -> np.ndarray:
    return volume((4, 5, 6))


_GREY_64 = (np.arange(64 * 64, dtype=np.uint16) % 4096).astype("<u2").tobytes()


def dicom_short_pixel_data(tmp: Path) -> Path:
    """Pixel Data of 1000 bytes for 64 x 64 x 2 (GDCM used to fill the rest with garbage)."""
    return write_dicom_raw_pixels(tmp / "short_pixels.dcm", _GREY_64[:1000], 64, 64)


def dicom_frames_beyond_data(tmp: Path) -> Path:
    """NumberOfFrames 5 over one frame of pixel data."""
    return write_dicom_raw_pixels(
        tmp / "five_frames.dcm", _GREY_64, 64, 64, extra=[(0x0028, 0x0008, "IS", "5")]
    )


def dicom_htj2k(tmp: Path) -> Path:
    """High-Throughput JPEG 2000, which GDCM cannot decode."""
    return write_dicom_encapsulated(tmp / "htj2k.dcm", "1.2.840.10008.1.2.4.201")


def dicom_mpeg4(tmp: Path) -> Path:
    """MPEG-4 AVC/H.264, which GDCM cannot decode."""
    return write_dicom_encapsulated(tmp / "mpeg4.dcm", "1.2.840.10008.1.2.4.102")


def dicom_series_truncated_slice(tmp: Path) -> Path:
    """One slice of three cut short (GDCM used to drop it and load two)."""
    folder = write_dicom_series(tmp / "cut_slice", volume((3, 4, 4)))
    truncate(folder / "slice_001.dcm", -10)
    return folder


def dicom_series_one_position(tmp: Path) -> Path:
    """Three slices at one position, no slice thickness (ITK used to invent 1 mm)."""
    return write_dicom_series_one_position(tmp / "one_position", volume((3, 4, 4)), None)


def mha_corrupt_zlib(tmp: Path) -> Path:
    """CompressedData = True over a scrambled stream (MetaIO used to return garbage)."""
    path = write_sitk(tmp / "badzlib.mha", sitk_volume(_small_zyx()), True)
    raw = bytearray(path.read_bytes())
    start = raw.index(b"LOCAL\n") + 6
    for k in range(start + 2, len(raw)):
        raw[k] = (raw[k] * 7 + 3) % 256
    path.write_bytes(bytes(raw))
    return path


def nhdr_dev_zero(tmp: Path) -> Path:
    """A detached NRRD whose data file is /dev/zero (used to load as zeros)."""
    return write_nhdr(tmp / "devzero.nhdr", "/dev/zero")


def mhd_dev_zero(tmp: Path) -> Path:
    """A detached MetaImage whose data file is /dev/zero."""
    return write_mhd(tmp / "devzero.mhd", "/dev/zero")


def nhdr_list(tmp: Path, name: str = "list") -> Path:
    """A valid detached NRRD over ``data file: LIST`` of six slice files ``{name}_k.raw``."""
    data = _small_zyx().astype("<i2")  # (z, y, x) = (4, 5, 6)
    for k, plane in enumerate(data):
        (tmp / f"{name}_{k}.raw").write_bytes(plane.tobytes())
    files = "".join(f"{name}_{k}.raw\n" for k in range(len(data)))
    path = tmp / f"{name}.nhdr"
    path.write_text(
        "NRRD0004\ntype: short\ndimension: 3\nsizes: 6 5 4\nencoding: raw\nendian: little\n"
        f"data file: LIST\n{files}",
        encoding="ascii",
    )
    return path


def nhdr_list_short_part(tmp: Path) -> Path:
    """A LIST-detached NRRD whose third slice file is cut short."""
    path = nhdr_list(tmp, "cutlist")
    truncate(tmp / "cutlist_2.raw", 10)
    return path


def nrrd_micrometre_spacing(tmp: Path) -> Path:
    """1e-6 mm voxels (a unit error; used to map to a 1x1x1 grid downstream)."""
    return write_sitk(tmp / "tiny.nrrd", sitk_volume(_small_zyx(), spacing=(1e-6, 1e-6, 1e-6)))


def nifti_kilometre_spacing(tmp: Path) -> Path:
    """1e6 mm voxels."""
    return write_nifti(tmp / "huge_voxels.nii", volume(), np.diag([1e6, 1e6, 1e6, 1.0]))


# --- special files that could block a reader forever: run them isolated (tests/isolated.py) ---


def _fifo(path: Path) -> Path:
    os.mkfifo(path)
    return path


def fifo_as_image(tmp: Path) -> Path:
    """The image path itself is a FIFO."""
    return _fifo(tmp / "pipe.nii")


def nhdr_fifo_data_file(tmp: Path) -> Path:
    """A detached NRRD whose data file is a FIFO (used to block forever)."""
    _fifo(tmp / "pipe.raw")
    return write_nhdr(tmp / "piped.nhdr", "pipe.raw")


def mhd_fifo_data_file(tmp: Path) -> Path:
    """A detached MetaImage whose data file is a FIFO."""
    _fifo(tmp / "pipe.zraw")
    return write_mhd(tmp / "piped.mhd", "pipe.zraw")


def nhdr_list_with_fifo(tmp: Path) -> Path:
    """A LIST-detached NRRD whose fourth slice file is a FIFO."""
    path = nhdr_list(tmp, "pipelist")
    (tmp / "pipelist_3.raw").unlink()
    _fifo(tmp / "pipelist_3.raw")
    return path


def dicom_series_with_fifo(tmp: Path) -> Path:
    """A series folder where one slice file is a FIFO (used to load 2 of 3 slices)."""
    folder = write_dicom_series(tmp / "fifo_series", volume((3, 4, 4)))
    (folder / "slice_001.dcm").unlink()
    _fifo(folder / "slice_001.dcm")
    return folder
