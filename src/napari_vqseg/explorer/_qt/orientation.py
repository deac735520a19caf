"""How the explorer orients the viewer: axial slices of a volume, napari's default for 2D.

Our reader gives volumes in RAS+ order (index 0 towards the patient's right, 1 anterior, 2
superior). Axial slices are shown as radiologists read them: anterior up and the patient's
right on the viewer's **left** (radiological convention; with "right" the heart and liver of a
CT appeared on the wrong sides).
"""

from __future__ import annotations

import contextlib
from typing import Any

RADIOLOGICAL = ("up", "left")
"""napari ``camera.orientation2d`` of an axial RAS+ slice: anterior up, patient's right left."""


class AxialView:
    """Axial slices of a volume (slider over its last axis, anterior up, the patient's right on
    the viewer's left), set once per layer;
    back to napari's default view (rows down, columns right) when a 2D image is chosen after a
    volume, so an X-ray is never shown transposed or upside down."""

    def __init__(self, viewer: Any) -> None:
        self.viewer = viewer
        self.volume: int | None = None
        """``id`` of the volume layer the axial view was set for, else ``None``."""

    def follow(self, layer: Any | None) -> None:
        """Orient the viewer for the chosen image ``layer``."""
        if layer is None:
            return
        if layer.ndim == 2:
            if self.volume is not None:
                self.volume = None
                self.viewer.dims.order = tuple(range(self.viewer.dims.ndim))
                self._orient(("down", "right"))
            return
        if layer.ndim != 3 or self.viewer.dims.ndim != 3 or self.volume == id(layer):
            return
        self.volume = id(layer)
        self.viewer.dims.order = (2, 1, 0)
        self._orient(RADIOLOGICAL)
        self._inside(layer)

    def _inside(self, layer: Any) -> None:
        """The slider on a slice of the volume: its middle one when the slider stands outside
        it (another image, e.g. a 2D X-ray's pixel columns along the same world axis, stretches
        the slider's range far past a CT's millimetres: the canvas would stay black)."""
        axis = self.viewer.dims.ndim - 1  # the volume's last axis (napari aligns trailing axes)
        low, high = (float(v) for v in layer.extent.world[:, -1])
        if not low <= float(self.viewer.dims.point[axis]) <= high:
            self.viewer.dims.set_point(axis, (low + high) / 2)

    def _orient(self, orientation: tuple[str, str]) -> None:
        scene = getattr(self.viewer, "scene", None)  # napari >= 0.9; .camera before
        camera = scene.camera if scene is not None else self.viewer.camera
        with contextlib.suppress(AttributeError, ValueError):
            camera.orientation2d = orientation
