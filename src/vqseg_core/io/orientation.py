"""Voxel-grid geometry: RAS+ canonical reorientation and ITK (LPS) <-> RAS affine conversion.

"Canonical" for volumes means what ``nibabel.as_closest_canonical`` produces: the array axes
are permuted and flipped (never resampled) so that increasing index 0 points to the patient's
**R**ight, index 1 to **A**nterior and index 2 to **S**uperior (RAS+; for an oblique grid, the
closest such axis). Affines map voxel indices ``(i, j, k, 1)``
to RAS world coordinates in mm (NIfTI convention); ITK/SimpleITK geometry is LPS.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from nibabel import orientations as ornt_mod

#: Converts between LPS (ITK, DICOM) and RAS (NIfTI) world coordinates (its own inverse).
LPS_TO_RAS = np.diag([-1.0, -1.0, 1.0, 1.0])

_CANONICAL = np.array([[0, 1], [1, 1], [2, 1]], dtype=float)


def canonical_orientation(affine: np.ndarray) -> np.ndarray:
    """Orientation transform (nibabel ``ornt``, shape (3, 2)) from a grid to RAS+."""
    return ornt_mod.io_orientation(affine)


def to_canonical(
    array: np.ndarray, affine: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Permute/flip a 3D array into RAS+ order.

    Args:
        array: Voxel data in the file's index order, shape (I, J, K).
        affine: 4x4 voxel-to-RAS (mm) affine of ``array``.

    Returns:
        ``(canonical_array, canonical_affine, ornt)``: a copy with positive strides (C or
        Fortran order, whichever the input had), its affine, and the transform to pass to
        :func:`from_canonical` to go back.
    """
    ornt = canonical_orientation(affine)
    canon = _positive_copy(ornt_mod.apply_orientation(array, ornt))
    canon_affine = affine @ ornt_mod.inv_ornt_aff(ornt, array.shape)
    return canon, canon_affine, ornt


def from_canonical(array: np.ndarray, ornt: np.ndarray) -> np.ndarray:
    """Undo :func:`to_canonical`: return ``array`` (RAS+ order) in the original index order."""
    back = ornt_mod.ornt_transform(_CANONICAL, np.asarray(ornt, dtype=float))
    return _positive_copy(ornt_mod.apply_orientation(array, back))


def _positive_copy(view: np.ndarray) -> np.ndarray:
    """Copy a flipped/transposed view keeping its memory layout (fast; C or Fortran order)."""
    return np.array(view, order="K", copy=True)


def affine_from_itk(
    spacing: Sequence[float], origin: Sequence[float], direction: Sequence[float]
) -> np.ndarray:
    """4x4 voxel-to-RAS affine from ITK (LPS) 3D spacing (mm), origin (mm) and direction."""
    d = np.asarray(direction, dtype=float).reshape(3, 3)
    lps = np.eye(4)
    lps[:3, :3] = d @ np.diag(np.asarray(spacing, dtype=float))
    lps[:3, 3] = np.asarray(origin, dtype=float)
    return LPS_TO_RAS @ lps


def itk_from_affine(
    affine: np.ndarray,
) -> tuple[tuple[float, ...], tuple[float, ...], tuple[float, ...]]:
    """ITK (LPS) ``(spacing, origin, direction)`` of a 4x4 voxel-to-RAS affine."""
    lps = LPS_TO_RAS @ np.asarray(affine, dtype=float)
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    direction = lps[:3, :3] / spacing
    return (
        tuple(float(s) for s in spacing),
        tuple(float(o) for o in lps[:3, 3]),
        tuple(float(v) for v in direction.ravel()),
    )


def spacing_of(affine: np.ndarray) -> tuple[float, ...]:
    """Voxel spacing (mm) per array axis: the column norms of the affine's 3x3 part."""
    return tuple(float(s) for s in np.linalg.norm(np.asarray(affine)[:3, :3], axis=0))


def is_valid_affine(affine: np.ndarray) -> bool:
    """Finite, with positive spacing on every axis and a non-singular 3x3 part."""
    a = np.asarray(affine, dtype=float)
    if a.shape != (4, 4) or not np.isfinite(a).all():
        return False
    if min(spacing_of(a)) <= 0:
        return False
    return abs(float(np.linalg.det(a[:3, :3]))) > 1e-12 * float(np.prod(spacing_of(a)))
