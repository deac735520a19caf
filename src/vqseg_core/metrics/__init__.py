"""Segmentation metrics: Dice, HD95 and surface distances in mm, and nan-aware summaries.

Empty masks never produce ``inf``: Dice is ``nan`` when both masks are empty, HD95 and ASD are
``nan`` when either is; :func:`summarize` ignores ``nan`` and reports how many it ignored (the
evaluation records and counts empty predictions separately: :mod:`vqseg_core.evaluation`).
"""

from vqseg_core.metrics.overlap import dice, dice_per_class
from vqseg_core.metrics.summary import Summary, summarize
from vqseg_core.metrics.surface import (
    SurfaceDistances,
    average_surface_distance,
    hd95,
    hd95_per_class,
    mask_edges,
    surface_distances,
)

__all__ = [
    "Summary",
    "SurfaceDistances",
    "average_surface_distance",
    "dice",
    "dice_per_class",
    "hd95",
    "hd95_per_class",
    "mask_edges",
    "summarize",
    "surface_distances",
]
