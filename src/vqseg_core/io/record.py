"""The loaded-image record: :class:`Image` and the :class:`SourceGeometry` it maps back onto.

Every format reader builds an :class:`Image`; this module imports no reader (and nothing of
:mod:`vqseg_core.io` but the record itself), so the readers, :mod:`vqseg_core.io.image` and
the package never import each other in a circle.

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
