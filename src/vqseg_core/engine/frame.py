"""The model frame, the [0, 1] corruption frame, and the corrupted draws of one image.

A model's recipe maps a raw image to the *model frame*. For recipes whose intensity step
already ends in [0, 1] (``window``, ``minmax``, ``percentile``: the chest, CT and brain
recipes) the corruption frame *is* the model frame. For the others (``zscore_nonzero``, the
prostate recipe) the model-frame image is mapped to [0, 1] with the project's MRI rule
(0.5..99.5 percentiles, :func:`~vqseg_core.perturb.to_unit_range`), corrupted, and mapped back
with the inverse (values clipped by the percentile window are not recovered, so a corruption
at its identity level bypasses the round trip and returns the model-frame image exactly).

Draw ``d`` uses seed ``seed + d`` (common random numbers: the same draws at every level and
for every model of a set that shares the recipe).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from vqseg_core.data.preprocess import PreprocessContext, Recipe
from vqseg_core.perturb import Corruption, UnitRangeMapping, to_unit_range

UNIT_RANGE_INTENSITIES = ("window", "minmax", "percentile")
"""Recipe intensity kinds whose model frame already lies in [0, 1]."""


@dataclass(frozen=True)
class PreparedInput:
    """One raw image in the model frame, ready to be corrupted.

    Attributes:
        x: ``(1, *model_shape)`` float32 model-frame input (one channel).
        unit: ``(*model_shape)`` float64 image in the [0, 1] corruption frame.
        mapping: maps ``unit`` back to the model frame (``None``: the frames coincide).
        context: the recipe's :class:`~vqseg_core.data.preprocess.PreprocessContext`.
    """

    x: np.ndarray
    unit: np.ndarray
    mapping: UnitRangeMapping | None
    context: PreprocessContext

    @property
    def model_shape(self) -> tuple[int, ...]:
        """Spatial shape on the model grid."""
        return tuple(self.x.shape[1:])


def prepare(
    recipe: Recipe | Any, array: np.ndarray, spacing: Sequence[float] | None = None
) -> PreparedInput:
    """Preprocess ``array`` with a recipe and find its corruption frame.

    Args:
        recipe: a :class:`~vqseg_core.data.preprocess.Recipe`, or anything with a ``recipe``
            (a model set: its first member's recipe).
        array: raw image ``(H, W)`` or ``(X, Y, Z)``.
        spacing: mm per axis (default 1 mm).

    Raises:
        ValueError: the image's dimensionality is not the recipe's.
    """
    if not isinstance(recipe, Recipe):
        recipe = recipe.recipe
    arr = np.asarray(array, dtype=np.float32)
    if arr.ndim != recipe.spatial_dims:
        raise ValueError(f"the model expects a {recipe.spatial_dims}D image, got shape {arr.shape}")
    spacing = tuple(spacing) if spacing is not None else (1.0,) * arr.ndim
    x, ctx = recipe.apply(arr, spacing)
    x = np.ascontiguousarray(x[None], dtype=np.float32)
    if recipe.intensity.kind in UNIT_RANGE_INTENSITIES:
        unit = np.clip(x[0].astype(np.float64), 0.0, 1.0)
        return PreparedInput(x, unit, None, ctx)
    unit, mapping = to_unit_range(x[0].astype(np.float64), "mr_percentile")
    return PreparedInput(x, unit, mapping, ctx)


def make_draws(prepared: PreparedInput, corruption: Corruption, n_draws: int = 1) -> np.ndarray:
    """The ``n_draws`` corrupted copies of a prepared image, in the model frame.

    Draw ``d`` is ``corruption`` with seed ``corruption.seed + d``, applied in the [0, 1]
    frame (with the model spacing, for kinds that use it) and mapped back to the model frame.

    Returns:
        ``(n_draws, 1, *model_shape)`` float32.
    """
    if n_draws < 1:
        raise ValueError(f"n_draws must be >= 1, got {n_draws}")
    out = np.empty((n_draws, *prepared.x.shape), dtype=np.float32)
    if corruption.is_identity:
        out[:] = prepared.x
        return out
    spacing = tuple(prepared.context.model_spacing)
    for d in range(n_draws):
        c = Corruption(corruption.kind, corruption.level, corruption.seed + d, spacing)
        y = c.apply(prepared.unit)
        if prepared.mapping is not None:
            y = prepared.mapping.inverse(y)
        out[d, 0] = y
    return out


def to_unit_frame(prepared: PreparedInput, x: np.ndarray) -> np.ndarray:
    """A model-frame image ``(*model_shape)`` in the [0, 1] frame (for display)."""
    if prepared.mapping is None:
        return np.clip(np.asarray(x, dtype=np.float32), 0.0, 1.0)
    return np.asarray(prepared.mapping.forward(np.asarray(x, dtype=np.float64)), dtype=np.float32)
