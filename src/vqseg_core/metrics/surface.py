"""Surface distances in mm: HD95 and average surface distance (MONAI's definitions).

The surface of a mask is its set of boundary voxels: foreground voxels with a background
face-neighbour, the outside of the array counting as background (``mask XOR erode(mask)`` with
the cross-shaped element, exactly as ``monai.metrics.get_mask_edges``). The directed distances
are the exact Euclidean distances, in mm with the true (possibly anisotropic) spacing, from each
boundary voxel of one mask to the nearest boundary voxel of the other.

How they are computed depends on how much of the masks' bounding box is surface. Usually little
is (an organ's boundary in a volume): a KD-tree of the boundary voxels' positions in mm
(``scipy.spatial.cKDTree``), whose time and memory follow the number of boundary voxels, not the
box; a stray voxel in the far corner of a 256x256x160 CT no longer costs two distance transforms
of the whole volume (1.1 s and 170 MB peak instead of 16 s and 640 MB; MONAI's own 17 s). When
more than :data:`DENSE_EDGE_FRACTION` of the box is boundary (speckled predictions under heavy
noise), an exact distance transform of the box (``scipy.ndimage.distance_transform_edt``) costs
less memory than the tree, and is used. Both give the same distances to rounding.

HD95 is the larger of the two directed 95th percentiles (linear interpolation), as
``monai.metrics.compute_hausdorff_distance(..., percentile=95)``. DeepMind's ``surface-distance``
weights surface elements by area, and medpy pools both directions: both can differ.

Empty-mask policy (PAPER.md): if either mask is empty the distances are undefined and the scores
are ``nan`` (never ``inf``); :mod:`vqseg_core.evaluation.segmentation` counts empty predictions
apart.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np
from scipy import ndimage, spatial

from vqseg_core.metrics._arrays import binary_pair, label_pair, labels_present, spacing_for

DENSE_EDGE_FRACTION = 0.2
"""Above this share of boundary voxels in the bounding box, distance transforms replace the KD-tree
(a tree holds about 60 bytes per boundary voxel, a transform about 20 per box voxel in 3D)."""


class SurfaceDistances(NamedTuple):
    """Directed boundary distances in mm (both empty when either mask is empty)."""

    pred_to_target: np.ndarray
    target_to_pred: np.ndarray


def mask_edges(mask: np.ndarray) -> np.ndarray:
    """Boundary voxels of a boolean mask (the outside of the array is background)."""
    mask = np.asarray(mask, dtype=bool)
    return mask & ~ndimage.binary_erosion(mask, border_value=0)


def surface_distances(pred: Any, target: Any, spacing: float | Sequence[float]) -> SurfaceDistances:
    """Distances from each boundary voxel of one mask to the other mask's boundary.

    Args:
        pred: binary mask (bool or 0/1; numpy or torch), 2D or 3D (any rank works).
        target: binary mask of the same shape.
        spacing: voxel size in mm, one number (isotropic) or one per axis.

    Returns:
        :class:`SurfaceDistances`; both arrays are empty when either mask is empty.
    """
    p, t = binary_pair(pred, target)
    sampling = spacing_for(spacing, p.ndim)
    if not p.any() or not t.any():
        empty = np.zeros(0)
        return SurfaceDistances(empty, empty.copy())
    box = ndimage.find_objects((p | t).astype(np.int8))[0]
    p, t = np.pad(p[box], 1), np.pad(t[box], 1)  # background margin: same edges, smaller EDT
    edges_p, edges_t = mask_edges(p), mask_edges(t)
    n_edges = np.count_nonzero(edges_p) + np.count_nonzero(edges_t)
    if n_edges > DENSE_EDGE_FRACTION * 2 * p.size:
        return _distances_by_transform(edges_p, edges_t, sampling)
    return _distances_by_tree(edges_p, edges_t, sampling)


def _distances_by_tree(
    edges_p: np.ndarray, edges_t: np.ndarray, sampling: Sequence[float]
) -> SurfaceDistances:
    """Nearest-boundary distances from KD-trees of the boundary voxels' positions in mm."""
    scale = np.asarray(sampling, dtype=np.float64)
    points_p, points_t = np.argwhere(edges_p) * scale, np.argwhere(edges_t) * scale
    to_target = spatial.cKDTree(points_t).query(points_p, k=1, workers=1)[0]
    to_pred = spatial.cKDTree(points_p).query(points_t, k=1, workers=1)[0]
    return SurfaceDistances(np.asarray(to_target), np.asarray(to_pred))


def _distances_by_transform(
    edges_p: np.ndarray, edges_t: np.ndarray, sampling: Sequence[float]
) -> SurfaceDistances:
    """Nearest-boundary distances from exact Euclidean distance transforms of the box."""
    to_target = ndimage.distance_transform_edt(~edges_t, sampling=sampling)[edges_p]
    to_pred = ndimage.distance_transform_edt(~edges_p, sampling=sampling)[edges_t]
    return SurfaceDistances(to_target, to_pred)


def hd95(
    pred: Any, target: Any, spacing: float | Sequence[float], *, percentile: float = 95.0
) -> float:
    """95th-percentile Hausdorff distance in mm (symmetric: max of the two directed percentiles).

    Args:
        pred: binary mask (bool or 0/1; numpy or torch).
        target: binary mask of the same shape.
        spacing: voxel size in mm, one number or one per axis (required: never voxels by accident).
        percentile: in [0, 100]; 100 gives the classic Hausdorff distance.

    Returns:
        Distance in mm, ``>= 0``; ``nan`` if either mask is empty.
    """
    if not 0 <= percentile <= 100:
        raise ValueError(f"percentile must be in [0, 100], got {percentile}")
    d = surface_distances(pred, target, spacing)
    if d.pred_to_target.size == 0:
        return float("nan")
    return float(
        max(
            np.percentile(d.pred_to_target, percentile), np.percentile(d.target_to_pred, percentile)
        )
    )


def average_surface_distance(
    pred: Any, target: Any, spacing: float | Sequence[float], *, symmetric: bool = True
) -> float:
    """Mean boundary distance in mm; ``nan`` if either mask is empty.

    Args:
        pred: binary mask (bool or 0/1; numpy or torch).
        target: binary mask of the same shape.
        spacing: voxel size in mm, one number or one per axis.
        symmetric: pool both directions (MONAI's ``symmetric=True``); else pred -> target only.
    """
    d = surface_distances(pred, target, spacing)
    if d.pred_to_target.size == 0:
        return float("nan")
    pooled = np.concatenate(d) if symmetric else d.pred_to_target
    return float(pooled.mean())


def hd95_per_class(
    pred: Any, target: Any, spacing: float | Sequence[float], labels: Sequence[int] | None = None
) -> dict[int, float]:
    """:func:`hd95` of each foreground label of two label maps (default: every non-zero label)."""
    p, t = label_pair(pred, target)
    return {label: hd95(p == label, t == label, spacing) for label in labels_present(p, t, labels)}
