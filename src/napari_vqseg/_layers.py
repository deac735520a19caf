"""Turn a :class:`vqseg_core.io.Image` into napari layer data and back (no Qt, no napari import)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

LABEL_NAME = re.compile(r"seg|label|mask|annotation|(^|[_\-. ])gt([_\-. ]|$)")
MAX_LABEL_VALUES = 32
IMAGE_KEY = "vqseg_image"


def looks_like_labels(
    path: str | Path, array: np.ndarray, metadata: dict[str, Any] | None = None
) -> bool:
    """Whether a loaded file holds a label map: its name says so (``*_seg*``, ``*label*``,
    ``*mask*``, ``*_gt*``), or it is integer-valued with at most 32 distinct non-negative values."""
    name = Path(path).name.lower()
    for suffix in (".nii.gz", ".nii", ".nrrd", ".nhdr", ".mha", ".mhd", ".png", ".tif", ".tiff"):
        if name.endswith(suffix):
            name = name[: -len(suffix)]
            break
    if LABEL_NAME.search(name):
        return _integer_valued(array)
    stored = str((metadata or {}).get("dtype", "")).lower()
    if stored.startswith("float"):
        return False
    if array.size == 0 or not _integer_valued(array) or float(array.min()) < 0:
        return False
    sample = array.ravel()[:: max(1, array.size // 1_000_000)]
    return len(np.unique(sample)) <= MAX_LABEL_VALUES and len(np.unique(array)) <= MAX_LABEL_VALUES


def _integer_valued(array: np.ndarray) -> bool:
    if array.size == 0:
        return False
    if np.issubdtype(array.dtype, np.integer):
        return True
    return bool(
        np.all(np.isfinite(array))
        and np.array_equal(array, np.round(array))
        and array.max() <= 65535
    )


def as_labels(array: np.ndarray) -> np.ndarray:
    """A non-negative integer copy of a label map, uint8 when it fits."""
    data = np.rint(np.asarray(array)).astype(np.int64)
    data = np.clip(data, 0, None)
    return data.astype(np.uint8 if data.size == 0 or data.max() <= 255 else np.int32)


def geometry_kwargs(image: Any) -> dict[str, Any]:
    """napari ``scale`` / ``translate`` / ``axis_labels`` / ``units`` for a loaded image.

    2D images ``(rows, cols)`` get their pixel spacing; volumes (canonical RAS+) their spacing and
    the world position of voxel 0 (the affine's translation; rotation, rare after canonical
    reorientation, is kept in the metadata only). Units are ``pixel`` when the file gave no
    spacing (PNG, JPEG, DICOM without a spacing tag), else ``mm``.
    """
    ndim = image.array.ndim
    kwargs: dict[str, Any] = {"scale": tuple(float(s) for s in image.spacing)}
    if ndim == 3:
        kwargs["translate"] = tuple(float(t) for t in np.asarray(image.affine)[:3, 3])
        kwargs["axis_labels"] = ("R", "A", "S")
    else:
        kwargs["axis_labels"] = ("row", "col")
    known = image.metadata.get("spacing_known", True)
    kwargs["units"] = ("mm" if known else "pixel",) * ndim
    return kwargs


def layer_spacing(layer: Any) -> tuple[float, ...] | None:
    """The layer's voxel size in mm, or ``None`` when it is not known (a PNG/JPEG or a DICOM
    without a pixel-spacing tag, whose reader assumed 1 mm; or a layer with napari's default
    scale 1 in pixel units): then distances are reported in pixels, never as millimetres
    nobody measured. A scale set on a layer is taken as mm per axis."""
    header = (getattr(layer, "metadata", None) or {}).get("header") or {}
    if header.get("spacing_known") is False:
        return None
    scale = tuple(float(s) for s in layer.scale)
    units = getattr(layer, "units", None)
    in_pixels = units is not None and all(str(u) in ("pixel", "px") for u in units)
    if in_pixels and all(s == 1.0 for s in scale):
        return None  # napari's defaults: nobody said how large a pixel is
    return scale


def layer_metadata(image: Any) -> dict[str, Any]:
    """``layer.metadata`` for a loaded image: the header plus the :class:`Image` for the writer."""
    return {
        IMAGE_KEY: image,
        "header": dict(image.metadata),
        "path": str(image.path),
        "source_format": image.source_format,
        "modality": image.modality,
        "spacing": [float(s) for s in image.spacing],
        "affine": np.asarray(image.affine).tolist(),
    }


def layer_data_tuple(image: Any, *, name: str | None = None, force: str | None = None) -> tuple:
    """A napari LayerDataTuple ``(data, kwargs, "image" | "labels")`` for a loaded image."""
    kind = force or (
        "labels" if looks_like_labels(image.path, image.array, image.metadata) else "image"
    )
    kwargs = geometry_kwargs(image)
    kwargs["name"] = name or _stem(image.path)
    kwargs["metadata"] = layer_metadata(image)
    if kind == "labels":
        return as_labels(image.array), kwargs, "labels"
    kwargs["colormap"] = "gray"
    return image.array, kwargs, "image"


def _stem(path: str | Path) -> str:
    name = Path(path).name
    for suffix in (".nii.gz", ".nii"):
        if name.lower().endswith(suffix):
            return name[: -len(suffix)]
    return Path(name).stem or name
