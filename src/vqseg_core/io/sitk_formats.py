"""NRRD and MetaImage (MHA/MHD) with SimpleITK, header checked before any voxel data is read.

Also holds the SimpleITK-image -> :class:`Image` conversion shared with :mod:`.dicom`.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np
import SimpleITK as sitk

from vqseg_core.io.errors import ImageLoadError
from vqseg_core.io.guards import check_budget, check_file, check_shape
from vqseg_core.io.orientation import (
    affine_from_itk,
    is_valid_affine,
    itk_from_affine,
    spacing_of,
    to_canonical,
)
from vqseg_core.io.record import Image, SourceGeometry, image_suffix
from vqseg_core.io.sitk_headers import check_data_files, check_voxel_data

_FORMAT_OF = {".nrrd": "nrrd", ".nhdr": "nrrd", ".mha": "mha", ".mhd": "mhd"}
#: ITK reader forced per format, so that ITK never sniffs its way into another reader
#: (e.g. its NIfTI reader, which zeroes NaN, or its TIFF reader on a DICOM preamble).
IMAGE_IO = {
    "nrrd": "NrrdImageIO",
    "mha": "MetaImageIO",
    "mhd": "MetaImageIO",
    "dicom": "GDCMImageIO",
}
_MAX_METADATA_CHARS = 256


def read_sitk_file(path: Path, max_bytes: int) -> Image:
    """Read an NRRD or MetaImage file (2D or 3D, scalar) as float32 in canonical orientation.

    The voxel data is checked before ITK reads it (:func:`.sitk_headers.check_voxel_data`):
    detached data files must be regular files, raw data as long as declared, zlib streams
    decodable to exactly the declared size.
    """
    check_file(path)
    check_data_files(path)
    reader = read_information(path, IMAGE_IO[_FORMAT_OF[image_suffix(path)]])
    expected = check_budget(
        path, declared_shape(path, reader), voxel_bytes(path, reader), max_bytes
    )
    check_voxel_data(path, expected)
    image = execute(path, reader)
    metadata = header_metadata(reader)
    return from_sitk(path, image, _FORMAT_OF[image_suffix(path)], metadata, modality=None)


def read_information(path: Path, image_io: str) -> sitk.ImageFileReader:
    """A reader (forced to ITK's ``image_io``) whose header is read but no voxel data yet."""
    reader = sitk.ImageFileReader()
    reader.SetImageIO(image_io)
    reader.SetFileName(str(path))
    try:
        reader.ReadImageInformation()
    except Exception as err:
        raise ImageLoadError(path, f"header unreadable ({_short(err)})") from err
    return reader


def declared_shape(path: Path, reader: Any) -> tuple[int, ...]:
    """Declared size (ITK x-first order) plus the component count, validated."""
    size = check_shape(path, reader.GetSize())
    if not 2 <= len(size) <= 3:
        raise ImageLoadError(path, f"unsupported {len(size)}D image of size {size}")
    comps = int(reader.GetNumberOfComponents())
    if comps < 1:
        raise ImageLoadError(path, f"header declares {comps} components per voxel")
    return (*size, comps) if comps > 1 else size


def voxel_bytes(path: Path, reader: Any) -> int:
    """Bytes of one stored voxel (all components), from the header's pixel type."""
    pixel_id = reader.GetPixelID()
    comps = max(1, int(reader.GetNumberOfComponents()))
    try:
        probe = sitk.Image([1] * reader.GetDimension(), pixel_id, comps)
        return int(probe.GetSizeOfPixelComponent())
    except Exception as err:
        raise ImageLoadError(path, f"unsupported pixel type {pixel_id} ({_short(err)})") from err


def execute(path: Path, reader: Any) -> sitk.Image:
    """Read the voxel data, wrapping any ITK failure."""
    try:
        return reader.Execute()
    except Exception as err:
        raise ImageLoadError(path, f"voxel data unreadable ({_short(err)})") from err


def from_sitk(
    path: Path,
    image: sitk.Image,
    source_format: str,
    metadata: dict[str, Any],
    modality: str | None,
    squeeze_2d: bool = False,
) -> Image:
    """Convert a SimpleITK image to a canonical :class:`Image` (RGB(A) 2D -> luminance grey)."""
    metadata.setdefault("notes", [])
    spacing = tuple(float(s) for s in image.GetSpacing())
    origin = tuple(float(o) for o in image.GetOrigin())
    direction = tuple(float(d) for d in image.GetDirection())
    arr = sitk.GetArrayFromImage(image)  # (z, y, x[, c]) or (y, x[, c])
    dim = image.GetDimension()
    if squeeze_2d and dim == 3 and image.GetSize()[2] == 1:
        arr, dim = arr[0], 2
    comps = image.GetNumberOfComponentsPerPixel()
    if comps > 1:
        if dim != 2 or comps not in (3, 4):
            raise ImageLoadError(path, f"{comps}-component voxels are not supported in {dim}D")
        arr = luminance(arr)
        metadata["notes"].append(
            f"rgb converted to grey (luminance){', alpha dropped' if comps == 4 else ''}"
        )
    data = arr.astype(np.float32)
    if data.ndim != dim:
        raise ImageLoadError(path, f"decoded array has shape {data.shape}, expected {dim}D")
    geom_kw = {"itk_spacing": spacing, "itk_origin": origin, "itk_direction": direction}
    if dim == 2:
        row_mm, col_mm = spacing[1], spacing[0]
        if not (math.isfinite(row_mm * col_mm) and row_mm > 0 and col_mm > 0):
            raise ImageLoadError(path, f"invalid pixel spacing {spacing}")
        affine = np.diag([row_mm, col_mm, 1.0, 1.0])
        geometry = SourceGeometry(shape=data.shape, affine=affine, ornt=None, **geom_kw)
        return Image(
            data, (row_mm, col_mm), affine, source_format, path, geometry, modality, metadata
        )
    affine = affine_from_itk(spacing, origin, direction)
    if not is_valid_affine(affine):
        raise ImageLoadError(path, f"invalid geometry: spacing {spacing}, direction {direction}")
    grid = np.ascontiguousarray(data.transpose(2, 1, 0))  # (x, y, z): ITK index order
    canon, canon_affine, ornt = to_canonical(grid, affine)
    geometry = SourceGeometry(shape=grid.shape, affine=affine, ornt=ornt, **geom_kw)
    return Image(
        canon,
        spacing_of(canon_affine),
        canon_affine,
        source_format,
        path,
        geometry,
        modality,
        metadata,
    )


def luminance(rgb: np.ndarray) -> np.ndarray:
    """Rec. 709 luminance of an (..., 3|4) array in its own value range (alpha ignored)."""
    weights = np.array([0.2125, 0.7154, 0.0721], dtype=np.float32)
    return rgb[..., :3].astype(np.float32) @ weights


def header_metadata(reader: Any) -> dict[str, Any]:
    """Header key/value strings (long binary-ish values dropped) plus size/spacing/type."""
    meta: dict[str, Any] = {
        "size": [int(s) for s in reader.GetSize()],
        "spacing": [float(s) for s in reader.GetSpacing()],
        "pixel_type": sitk.GetPixelIDValueAsString(reader.GetPixelID()),
        "components": int(reader.GetNumberOfComponents()),
        "notes": [],
    }
    tags = {}
    for key in reader.GetMetaDataKeys():
        value = reader.GetMetaData(key)
        if len(value) <= _MAX_METADATA_CHARS and value.isprintable():
            tags[key] = value.strip()
    meta["header"] = tags
    return meta


def _short(err: Exception) -> str:
    text = " ".join(str(err).split())
    return f"{type(err).__name__}: {text[-300:]}"


def write_labels(path: Path, labels: np.ndarray, like: Image) -> None:
    """Write labels (in the source's stored index order) with the source's ITK geometry."""
    geom = like.geometry
    if geom.ornt is None:
        arr = labels
        if geom.itk_spacing is not None and len(geom.itk_spacing) == 3:
            arr = labels[None]  # single-frame DICOM: a 3D grid of depth 1
    else:
        arr = labels.reshape(geom.shape[:3]).transpose(2, 1, 0)
    out = sitk.GetImageFromArray(np.ascontiguousarray(arr))
    if geom.itk_spacing is not None:
        spacing, origin, direction = geom.itk_spacing, geom.itk_origin, geom.itk_direction
    elif geom.ornt is not None:
        spacing, origin, direction = itk_from_affine(geom.affine)
    else:
        spacing = (float(geom.affine[1, 1]), float(geom.affine[0, 0]))
        origin, direction = (0.0, 0.0), (1.0, 0.0, 0.0, 1.0)
    try:
        out.SetSpacing(spacing)
        out.SetOrigin(origin)
        out.SetDirection(direction)
        sitk.WriteImage(out, str(path), useCompression=True)
    except RuntimeError as err:
        raise ValueError(f"cannot write {path.name}: {_short(err)}") from err
