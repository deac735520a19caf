"""napari writer: a Labels layer saved as NIfTI / NRRD / MHA / PNG / TIFF on its source's grid.

The grid comes from the :class:`vqseg_core.io.Image` kept in ``layer.metadata["vqseg_image"]``
(layers read by this plugin and every layer the explorer makes); without one, the layer's own
``scale`` / ``translate`` define an axis-aligned grid.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from napari_vqseg._layers import IMAGE_KEY


def write_labels(path: str, data: Any, meta: dict[str, Any]) -> list[str]:
    """Save one Labels layer; returns the written path (``[]`` if nothing was written)."""
    from vqseg_core.io import save_segmentation

    labels = np.asarray(data)
    like = (meta.get("metadata") or {}).get(IMAGE_KEY)
    try:
        if like is None or tuple(like.array.shape) != labels.shape:
            like = image_from_layer_geometry(labels, meta.get("scale"), meta.get("translate"), path)
        return [str(save_segmentation(path, labels, like=like))]
    except (ValueError, OSError) as err:
        _tell_user(f"Nothing saved to {Path(path).name}: {err}")
        raise


def _tell_user(message: str) -> None:
    """napari reports a failed writer as 'no writer found': say the real reason on screen."""
    try:
        from napari.utils.notifications import show_error
    except ImportError:  # used as a library without napari
        return
    show_error(message)


def image_from_layer_geometry(
    labels: np.ndarray, scale: Any, translate: Any, path: str | Path
) -> Any:
    """A stand-in :class:`~vqseg_core.io.Image` for a layer with no source image (axis-aligned)."""
    from vqseg_core.io import Image, SourceGeometry

    ndim = labels.ndim
    if ndim not in (2, 3):
        raise ValueError(f"only 2D or 3D label layers can be saved, got shape {labels.shape}")
    spacing = tuple(float(s) for s in (scale if scale is not None else (1.0,) * ndim))[-ndim:]
    shift = tuple(float(t) for t in (translate if translate is not None else (0.0,) * ndim))[-ndim:]
    affine = np.eye(4)
    affine[np.arange(ndim), np.arange(ndim)] = spacing
    if ndim == 3:
        affine[:3, 3] = shift
        ornt = np.array([[0, 1], [1, 1], [2, 1]], dtype=float)
        geometry = SourceGeometry(shape=labels.shape, affine=affine, ornt=ornt)
    else:
        geometry = SourceGeometry(shape=labels.shape, affine=affine)
    return Image(
        array=np.zeros(labels.shape, np.float32), spacing=spacing, affine=affine,
        source_format="napari", path=Path(path), geometry=geometry,
    )  # fmt: skip
