"""DICOM single files (radiographs, multi-frame) and series folders with SimpleITK (GDCM)."""

from __future__ import annotations

import functools
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from vqseg_core.io._dicom_bytes import encode_file, grey_image_elements
from vqseg_core.io._dicom_parse import checked_header
from vqseg_core.io.errors import ImageLoadError
from vqseg_core.io.guards import check_budget, check_file
from vqseg_core.io.record import Image
from vqseg_core.io.sitk_formats import (
    IMAGE_IO,
    declared_shape,
    execute,
    from_sitk,
    header_metadata,
    read_information,
    voxel_bytes,
)

_XR_MODALITIES = {"CR", "DX", "DR", "RG", "MG", "PX", "RF", "XA"}
_NON_UNIFORM_KEY = "ITK_non_uniform_sampling_deviation"


def read_dicom_file(path: Path, max_bytes: int) -> Image:
    """Read one DICOM file: a single frame becomes a 2D ``(rows, cols)`` radiograph.

    MONOCHROME1 is returned in MONOCHROME2 polarity (bright = dense) and noted; pixel spacing
    comes from (0028,0030), else (0018,1164), else 1.0 with the note "spacing unknown".
    Multi-frame files load as volumes like a series. The header is checked first (see
    :func:`checked_header`): an unsupported transfer syntax or Pixel Data shorter than
    frames x rows x columns is refused before GDCM decodes anything.
    """
    check_file(path)
    checked_header(path)
    try:
        reader = read_information(path, IMAGE_IO["dicom"])
    except ImageLoadError as err:
        if _has_dicom_magic(path):
            raise ImageLoadError(
                path,
                "DICOM file holds no image GDCM can decode (a non-image object such as a "
                f"report, a truncated file or an unsupported encoding): {err.problem}",
            ) from err
        raise
    _require_pixels(path, reader)
    check_budget(path, declared_shape(path, reader), voxel_bytes(path, reader), max_bytes)
    image = execute(path, reader)
    metadata = header_metadata(reader)
    tags = metadata["header"]
    single_frame = image.GetDimension() == 2 or image.GetSize()[2] == 1
    if single_frame:
        image = _with_radiograph_spacing(image, tags, metadata)
    image = _fix_polarity(path, image, tags, metadata)
    return from_sitk(path, image, "dicom", metadata, _modality(tags), squeeze_2d=True)


def read_dicom_series(folder: Path, max_bytes: int) -> Image:
    """Read the one DICOM series in ``folder`` as a volume (slices sorted by position).

    Every entry of the folder must be a regular file (a FIFO or device is refused unopened);
    every slice's header is checked like a single file's; a DICOM file GDCM leaves out of the
    series (truncated, corrupt) is refused rather than silently dropped; slices sharing one
    position are spaced from SpacingBetweenSlices/SliceThickness (noted) or refused.
    """
    from vqseg_core.io.dicom_series import order_slices, scan_folder

    files, series_uid = scan_folder(folder)
    headers = [checked_header(Path(f), owner=folder) for f in files]
    files, slice_spacing = order_slices(folder, files, headers)
    first = read_information(Path(files[0]), IMAGE_IO["dicom"])
    _require_pixels(folder, first)
    slice_shape = declared_shape(folder, first)
    check_budget(folder, (*slice_shape, len(files)), voxel_bytes(folder, first), max_bytes)
    reader = sitk.ImageSeriesReader()
    reader.SetImageIO(IMAGE_IO["dicom"])
    reader.SetFileNames(files)
    try:
        image = reader.Execute()
    except Exception as err:
        raise ImageLoadError(folder, f"series unreadable ({type(err).__name__}: {err})") from err
    if slice_spacing is None and image.HasMetaDataKey(_NON_UNIFORM_KEY):
        raise ImageLoadError(
            folder, "slice positions are not uniformly spaced (a slice missing or misplaced)"
        )
    metadata = header_metadata(first)
    metadata["n_files"] = len(files)
    metadata["series_uid"] = series_uid
    if slice_spacing is not None:
        spacing = list(image.GetSpacing())
        spacing[2] = slice_spacing.mm
        image.SetSpacing(spacing)
        metadata["notes"].append(slice_spacing.note)
        metadata["slice_spacing_source"] = slice_spacing.source
    tags = metadata["header"]
    image = _fix_polarity(folder, image, tags, metadata)
    return from_sitk(folder, image, "dicom-series", metadata, _modality(tags))


def _has_dicom_magic(path: Path) -> bool:
    with path.open("rb") as fh:
        return fh.read(132)[128:] == b"DICM"


def _require_pixels(path: Path, reader: Any) -> None:
    keys = set(reader.GetMetaDataKeys())
    if "0028|0010" not in keys or "0028|0011" not in keys:
        raise ImageLoadError(path, "DICOM file has no image (no Rows/Columns: not an image object)")


def _modality(tags: dict[str, str]) -> str | None:
    code = tags.get("0008|0060", "").strip().upper()
    if code in ("CT", "MR"):
        return code
    return "XR" if code in _XR_MODALITIES else None


def _parse_pair(text: str | None) -> tuple[float, float] | None:
    if not text:
        return None
    try:
        values = [float(v) for v in text.split("\\")]
    except ValueError:
        return None
    if len(values) != 2 or not all(np.isfinite(values)) or min(values) <= 0:
        return None
    return values[0], values[1]


def _with_radiograph_spacing(
    image: sitk.Image, tags: dict[str, str], metadata: dict[str, Any]
) -> sitk.Image:
    for tag, name in (("0028|0030", "PixelSpacing"), ("0018|1164", "ImagerPixelSpacing")):
        pair = _parse_pair(tags.get(tag))
        if pair is not None:
            row_mm, col_mm = pair
            metadata["spacing_source"] = name
            break
    else:
        row_mm = col_mm = 1.0
        metadata["spacing_source"] = None
        metadata["spacing_known"] = False
        metadata["notes"].append("spacing unknown (no valid pixel spacing tag): 1.0 mm assumed")
    spacing = list(image.GetSpacing())
    spacing[0], spacing[1] = col_mm, row_mm
    image.SetSpacing(spacing)
    return image


def _fix_polarity(
    path: Path, image: sitk.Image, tags: dict[str, str], metadata: dict[str, Any]
) -> sitk.Image:
    photometric = tags.get("0028|0004", "").strip().upper()
    metadata["photometric_interpretation"] = photometric or None
    if photometric != "MONOCHROME1":
        return image
    if gdcm_inverts_monochrome1():
        metadata["notes"].append("MONOCHROME1 inverted (by GDCM while decoding) to MONOCHROME2")
        return image
    lo, hi = _value_range(tags)
    inverted = sitk.Cast(image, sitk.sitkFloat64) * -1.0 + (lo + hi)
    metadata["notes"].append(f"MONOCHROME1 inverted to MONOCHROME2 (v -> {lo + hi:g} - v)")
    return inverted


def _value_range(tags: dict[str, str]) -> tuple[float, float]:
    bits = int(tags.get("0028|0101", "16").strip() or 16)
    signed = tags.get("0028|0103", "0").strip() == "1"
    lo, hi = (-(2 ** (bits - 1)), 2 ** (bits - 1) - 1) if signed else (0, 2**bits - 1)
    slope = float(tags.get("0028|1053", "1").strip() or 1)
    inter = float(tags.get("0028|1052", "0").strip() or 0)
    a, b = lo * slope + inter, hi * slope + inter
    return min(a, b), max(a, b)


@functools.cache
def gdcm_inverts_monochrome1() -> bool:
    """Whether this SimpleITK/GDCM build already inverts MONOCHROME1 while decoding (probed)."""
    pixels = np.array([0, 100, 200, 4095], dtype="<u2").tobytes()
    data = encode_file(grey_image_elements(pixels, 2, 2, "MONOCHROME1", bits_stored=12))
    with tempfile.TemporaryDirectory() as tmp:
        probe = Path(tmp) / "probe.dcm"
        probe.write_bytes(data)
        values = sitk.GetArrayFromImage(sitk.ReadImage(str(probe), imageIO="GDCMImageIO")).ravel()
    return int(values[0]) == 4095
