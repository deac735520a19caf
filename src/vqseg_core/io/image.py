"""The loaded-image record, the format dispatcher ``load_image`` and ``save_segmentation``.

Canonical orientation (what models see):

* **Volumes** (NIfTI, NRRD, MHA/MHD, DICOM series, multi-frame DICOM): a 3D float32 array
  ``(X, Y, Z)`` in RAS+ order, obtained by permuting/flipping (never resampling) the stored grid
  as ``nibabel.as_closest_canonical`` does (see :mod:`vqseg_core.io.orientation`). ``affine`` maps
  canonical voxel indices to RAS world mm; ``spacing`` is mm per canonical axis.
* **2D images** (PNG/JPEG/TIFF, single-frame DICOM radiographs, 2D NRRD/MHA, JSRT raw): a float32
  array ``(H, W)`` = (rows, cols) exactly as stored and displayed, no reorientation; ``spacing``
  is (row spacing, column spacing) in mm and ``affine`` is ``diag(row_mm, col_mm, 1, 1)``.

Intensities keep the file's physical units after its rescale slope/intercept (HU for CT, raw
grey values otherwise; 16-bit rasters keep their full range).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.io.errors import ImageLoadError
from vqseg_core.io.guards import DEFAULT_MAX_BYTES, NonfinitePolicy, apply_nonfinite_policy

NIFTI_SUFFIXES = (".nii", ".nii.gz")
SITK_SUFFIXES = (".nrrd", ".nhdr", ".mha", ".mhd")
DICOM_SUFFIXES = (".dcm", ".dicom")
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
JSRT_SUFFIXES = (".img",)


@dataclass(frozen=True, eq=False)
class SourceGeometry:
    """How the canonical array maps back onto the file's own voxel grid.

    Attributes:
        shape: Grid shape in the file's own index order (NIfTI ``(i, j, k[, 1])``, ITK
            ``(x, y, z)``; for 2D images ``(rows, cols)``).
        affine: 4x4 voxel-to-RAS (mm) affine of that grid (2D: ``diag(row_mm, col_mm, 1, 1)``).
        ornt: nibabel orientation transform (3, 2) from the stored grid to the canonical array;
            ``None`` for 2D images (stored order is canonical).
        itk_spacing: ITK spacing (mm, x-first) for SimpleITK sources, else ``None``.
        itk_origin: ITK origin (LPS mm) for SimpleITK sources, else ``None``.
        itk_direction: ITK direction cosines (row-major) for SimpleITK sources, else ``None``.
        nifti_header: A copy of the source NIfTI header (NIfTI sources only), else ``None``.
    """

    shape: tuple[int, ...]
    affine: np.ndarray
    ornt: np.ndarray | None = None
    itk_spacing: tuple[float, ...] | None = None
    itk_origin: tuple[float, ...] | None = None
    itk_direction: tuple[float, ...] | None = None
    nifti_header: Any = field(default=None, repr=False)


@dataclass(frozen=True, eq=False)
class Image:
    """A loaded image in canonical orientation, with everything needed to map results back.

    Attributes:
        array: float32 voxels, ``(H, W)`` for 2D images or ``(X, Y, Z)`` RAS+ for volumes.
        spacing: mm per axis of ``array``.
        affine: 4x4 voxel-to-world (RAS mm) affine of ``array``.
        source_format: One of ``"nifti"``, ``"nrrd"``, ``"mha"``, ``"mhd"``, ``"dicom"``,
            ``"dicom-series"``, ``"png"``, ``"jpeg"``, ``"tiff"``, ``"jsrt-raw"``.
        path: The file (or DICOM folder) it came from.
        modality: ``"CT"``, ``"MR"``, ``"XR"`` or ``None`` when the file does not say.
        metadata: JSON-able header fields plus ``"notes"`` (conversions applied, e.g. "rgb
            converted to grey", "MONOCHROME1 inverted", "spacing unknown") and
            ``"nonfinite_count"``.
        geometry: The stored grid, for :func:`save_segmentation`.
    """

    array: np.ndarray
    spacing: tuple[float, ...]
    affine: np.ndarray
    source_format: str
    path: Path
    geometry: SourceGeometry
    modality: str | None = None
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def shape(self) -> tuple[int, ...]:
        """Shape of ``array``."""
        return tuple(self.array.shape)

    @property
    def notes(self) -> list[str]:
        """Human-readable notes on conversions applied while loading."""
        return list(self.metadata.get("notes", []))


def image_suffix(path: str | Path) -> str:
    """Lower-case suffix, with ``.nii.gz`` kept whole."""
    name = Path(path).name.lower()
    return ".nii.gz" if name.endswith(".nii.gz") else Path(name).suffix


def load_image(
    path: str | Path,
    *,
    nonfinite: NonfinitePolicy = "raise",
    max_bytes: int = DEFAULT_MAX_BYTES,
) -> Image:
    """Load a medical or plain image as float32 in canonical orientation, or fail clearly.

    Formats (by suffix; a folder is read as one DICOM series): NIfTI ``.nii``/``.nii.gz``
    (nibabel only), NRRD ``.nrrd``/``.nhdr``, MetaImage ``.mha``/``.mhd``, DICOM ``.dcm``
    files and series folders (SimpleITK), PNG/JPEG/TIFF (scikit-image), JSRT raw ``.IMG``.

    Args:
        path: Image file, or folder holding exactly one DICOM series.
        nonfinite: ``"raise"`` (default) refuses images with NaN/Inf voxels;
            ``"replace"`` sets them to 0.0 and records the count in ``metadata``.
        max_bytes: Memory budget in bytes for the decoded data plus its float32 copy; headers
            declaring more are refused before any voxel data is read.

    Returns:
        The loaded :class:`Image`.

    Raises:
        ImageLoadError: For every missing, empty, truncated, malformed, unsupported,
            over-budget or non-finite input; the message names the file and the problem.
        ValueError: For an invalid ``nonfinite`` policy.
    """
    if nonfinite not in ("raise", "replace"):
        raise ValueError(f"nonfinite must be 'raise' or 'replace', got {nonfinite!r}")
    path = Path(path)
    reader = _reader_for(path)
    try:
        image = reader(path, max_bytes)
    except ImageLoadError:
        raise
    except Exception as err:  # any other failure of a decoder is a malformed file to the caller
        raise ImageLoadError(path, f"unreadable ({type(err).__name__}: {err})") from err
    apply_nonfinite_policy(path, image.array, nonfinite, image.metadata)
    return image


def _reader_for(path: Path):
    from vqseg_core.io import dicom, jsrt, nifti, raster, sitk_formats

    if path.is_dir():
        return dicom.read_dicom_series
    suffix = image_suffix(path)
    if suffix in NIFTI_SUFFIXES:
        return nifti.read_nifti
    if suffix in SITK_SUFFIXES:
        return sitk_formats.read_sitk_file
    if suffix in DICOM_SUFFIXES:
        return dicom.read_dicom_file
    if suffix in RASTER_SUFFIXES:
        return raster.read_raster
    if suffix in JSRT_SUFFIXES:
        return jsrt.read_jsrt_raw
    if not path.exists():
        raise ImageLoadError(path, "file does not exist")
    known = ", ".join(NIFTI_SUFFIXES + SITK_SUFFIXES + DICOM_SUFFIXES + RASTER_SUFFIXES)
    raise ImageLoadError(
        path, f"unknown file extension {suffix or '(none)'!r}; known: {known}, .IMG"
    )


def save_segmentation(path: str | Path, labels: np.ndarray, like: Image) -> Path:
    """Write an integer label map onto the grid of the image it was computed from.

    ``labels`` is given in ``like``'s canonical orientation and shape; it is written in the
    source's *original* voxel order and geometry. The writer follows the output suffix:
    ``.nii``/``.nii.gz`` (nibabel; a NIfTI source keeps its header, affine, qform/sform),
    ``.nrrd``/``.mha``/``.mhd`` (SimpleITK; same spacing, origin, direction), and for 2D images
    ``.png``/``.tif``/``.tiff``. Labels are stored as uint8 (max <= 255) or uint16.

    Args:
        path: Output file.
        labels: Non-negative integer (or bool) array, same shape as ``like.array``.
        like: The image the labels belong to.

    Returns:
        The written path.

    Raises:
        ValueError: Shape mismatch, non-integer, negative or > 65535 labels, or an output
            suffix that cannot hold this geometry.
    """
    from vqseg_core.io import nifti, raster, sitk_formats
    from vqseg_core.io.orientation import from_canonical

    path = Path(path)
    data = _label_array(labels, like)
    geom = like.geometry
    original = data if geom.ornt is None else from_canonical(data, geom.ornt)
    suffix = image_suffix(path)
    if suffix in NIFTI_SUFFIXES:
        nifti.write_labels(path, original, like)
    elif suffix in (".nrrd", ".mha", ".mhd"):
        sitk_formats.write_labels(path, original, like)
    elif suffix in (".png", ".tif", ".tiff"):
        raster.write_labels(path, original, like)
    else:
        raise ValueError(
            f"cannot write a segmentation to {path.name!r}: use .nii, .nii.gz, .nrrd, .mha, "
            ".mhd, or for 2D images .png/.tif (lossy JPEG is refused)"
        )
    return path


def _label_array(labels: np.ndarray, like: Image) -> np.ndarray:
    data = np.asarray(labels)
    if data.shape != like.array.shape:
        raise ValueError(
            f"labels shape {data.shape} does not match the image shape {like.array.shape} "
            f"of {like.path.name} (labels must be in the image's canonical orientation)"
        )
    if data.dtype == bool:
        return data.astype(np.uint8)
    if not np.issubdtype(data.dtype, np.integer):
        if not np.issubdtype(data.dtype, np.floating) or not np.all(np.isfinite(data)):
            raise ValueError(f"labels must be integers, got dtype {data.dtype}")
        if not np.array_equal(data, np.round(data)):
            raise ValueError("labels must be integers; got fractional values")
    if data.size and (data.min() < 0 or data.max() > 65535):
        raise ValueError(f"labels must lie in [0, 65535], got [{data.min()}, {data.max()}]")
    dtype = np.uint8 if data.size == 0 or data.max() <= 255 else np.uint16
    return data.astype(dtype)
