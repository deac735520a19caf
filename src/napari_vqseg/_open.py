"""File > IO utilities > "Open image or mask with VQ-Seg": any file our reader loads, chosen
by the user (PNG/JPEG/TIFF included, which the manifest leaves to napari's own reader).

What it keeps that napari's built-in picture reader does not: a mask (few integer values, or a
name like ``*_mask.png``) opens as a Labels layer the explorer can score against; 16-bit
colour is turned into grey with its range kept; the layer records the file, whether its pixel
spacing is known, and the reader's notes (what the explorer shows in its status).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import napari

FILE_FILTER = (
    "Images (*.png *.jpg *.jpeg *.tif *.tiff *.nii *.nii.gz *.nrrd *.nhdr *.mha *.mhd "
    "*.dcm *.dicom *.img *.IMG);;All files (*)"
)


def open_with_vqseg(viewer: napari.viewer.Viewer) -> list[Any]:
    """Ask for files and add each as an image or labels layer (the menu command)."""
    from qtpy.QtWidgets import QFileDialog

    paths, _ = QFileDialog.getOpenFileNames(None, "Open image or mask with VQ-Seg", "", FILE_FILTER)
    return add_paths(viewer, paths)


def add_paths(viewer: napari.viewer.Viewer, paths: Sequence[str | Path]) -> list[Any]:
    """Load ``paths`` with :mod:`vqseg_core.io` and add them; a bad file is reported by name
    (napari notification) and the others still open. Returns the added layers."""
    from napari.utils.notifications import show_error

    from napari_vqseg._layers import layer_data_tuple
    from vqseg_core.io import ImageLoadError, load_image

    added = []
    for path in paths:
        try:
            data, kwargs, kind = layer_data_tuple(load_image(path, nonfinite="replace"))
        except (ImageLoadError, OSError, ValueError) as err:
            show_error(f"VQ-Seg could not open {path}: {err}")
            continue
        added.append(getattr(viewer, f"add_{kind}")(data, **kwargs))
    return added
