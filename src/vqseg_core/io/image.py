"""The format dispatcher :func:`load_image` and :func:`save_segmentation`.

They return and take the record :class:`~vqseg_core.io.record.Image` (with its
:class:`~vqseg_core.io.record.SourceGeometry`; re-exported here), defined in
:mod:`vqseg_core.io.record` together with what "canonical orientation" means. The format
readers are imported when a file is read: they import the record, never this module.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vqseg_core.io.errors import ImageLoadError
from vqseg_core.io.guards import (
    DEFAULT_MAX_BYTES,
    NonfinitePolicy,
    apply_nonfinite_policy,
    check_spacing,
)
from vqseg_core.io.record import Image, SourceGeometry, image_suffix

__all__ = [
    "DICOM_SUFFIXES",
    "JSRT_SUFFIXES",
    "NIFTI_SUFFIXES",
    "RASTER_SUFFIXES",
    "SITK_SUFFIXES",
    "Image",
    "SourceGeometry",
    "image_suffix",
    "load_image",
    "save_segmentation",
]

NIFTI_SUFFIXES = (".nii", ".nii.gz")
SITK_SUFFIXES = (".nrrd", ".nhdr", ".mha", ".mhd")
DICOM_SUFFIXES = (".dcm", ".dicom")
RASTER_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
JSRT_SUFFIXES = (".img",)


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
        ImageLoadError: For every missing, unreadable, non-regular (FIFO, device), empty,
            truncated, undecodable, malformed, unsupported, over-budget or non-finite input,
            and for voxel spacings outside ``MIN_SPACING_MM .. MAX_SPACING_MM`` (1e-3 .. 1e3
            mm, see :mod:`vqseg_core.io.guards`); the message names the file and the problem.
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
    except PermissionError as err:
        raise ImageLoadError(path, f"permission denied ({err})") from err
    except Exception as err:  # any other failure of a decoder is a malformed file to the caller
        raise ImageLoadError(path, f"unreadable ({type(err).__name__}: {err})") from err
    check_spacing(path, image.spacing)
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
