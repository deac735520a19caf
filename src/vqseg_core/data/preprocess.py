"""Preprocessing recipes: raw image -> model input, and model-grid labels -> original grid.

A :class:`Recipe` is a small frozen, JSON-able config: an optional grid change (a target
spacing in mm, or a target shape in pixels) followed by an intensity normalisation. The
registry :data:`RECIPES` holds the paper's recipes (see ``PAPER.md``, "Preprocessing as
coded") plus one for brain MRI:

============== ======================= =========================================
name           grid                    intensity
============== ======================= =========================================
``ct``         1.5 x 1.5 x 2 mm        HU window -175..250 -> [0, 1]
``prostate_mri`` 0.5 x 0.5 x 1.5 mm    z-score over nonzero voxels
``chest_xray`` 512 x 512 pixels        min-max -> [0, 1]
``brain_mri``  1 x 1 x 1 mm            0.5..99.5 percentiles -> [0, 1]
============== ======================= =========================================

Arrays follow :mod:`vqseg_core.io` (2D ``(H, W)``, 3D ``(X, Y, Z)`` RAS+, spacing in mm per
axis). Cropping/patching (96^3, 192x192x64) is left to training and inference.

Example:
    >>> recipe = RECIPES["ct"]
    >>> x, ctx = recipe.apply(image.array, image.spacing)      # doctest: +SKIP
    >>> labels = recipe.invert_labels(model_labels, ctx)        # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vqseg_core.data.intensity import IntensityConfig, normalise
from vqseg_core.data.resample import (
    check_grid_budget,
    resize_image,
    resize_labels,
    shape_for_spacing,
)


@dataclass(frozen=True)
class PreprocessContext:
    """What :meth:`Recipe.apply` did, enough to map labels back (JSON-able via ``to_dict``).

    Attributes:
        recipe: Name of the recipe applied.
        original_shape: Shape of the input array.
        original_spacing: Input spacing (mm per axis).
        model_shape: Shape of the model input.
        model_spacing: Spacing of the model grid (mm per axis).
        intensity: Statistics the normalisation used (window, percentiles, mean/std).
    """

    recipe: str
    original_shape: tuple[int, ...]
    original_spacing: tuple[float, ...]
    model_shape: tuple[int, ...]
    model_spacing: tuple[float, ...]
    intensity: dict[str, float] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields (tuples as lists)."""
        return {k: list(v) if isinstance(v, tuple) else v for k, v in vars(self).items()}


@dataclass(frozen=True)
class Recipe:
    """A preprocessing recipe: optional grid change, then intensity normalisation.

    Attributes:
        name: Registry name.
        spatial_dims: 2 for radiographs ``(H, W)``, 3 for volumes ``(X, Y, Z)``.
        intensity: The normalisation (:class:`IntensityConfig`).
        target_spacing: Resample to this spacing in mm per axis (``None``: keep the grid).
        target_shape: Resize to this shape in pixels (exclusive with ``target_spacing``).
        antialias: Gaussian prefilter on axes that shrink (images only, never labels).
        description: One line for humans.
    """

    name: str
    spatial_dims: int
    intensity: IntensityConfig
    target_spacing: tuple[float, ...] | None = None
    target_shape: tuple[int, ...] | None = None
    antialias: bool = True
    description: str = ""

    def __post_init__(self) -> None:
        if self.spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {self.spatial_dims}")
        if self.target_spacing is not None and self.target_shape is not None:
            raise ValueError("give target_spacing or target_shape, not both")
        for name in ("target_spacing", "target_shape"):
            value = getattr(self, name)
            if value is None:
                continue
            value = tuple(value)
            object.__setattr__(self, name, value)
            if len(value) != self.spatial_dims or any(v <= 0 for v in value):
                raise ValueError(
                    f"{name} must hold {self.spatial_dims} positive values, got {value}"
                )

    def apply(
        self, array: np.ndarray, spacing: Sequence[float]
    ) -> tuple[np.ndarray, PreprocessContext]:
        """Map a raw image to the model's grid and intensity frame.

        Args:
            array: Raw intensities, ``(H, W)`` or ``(X, Y, Z)`` (HU for CT).
            spacing: mm per axis of ``array``.

        Returns:
            The float32 model input and the :class:`PreprocessContext` for
            :meth:`invert_labels`.

        Raises:
            ValueError: Wrong dimensionality, spacing length, non-finite spacing or voxels.
            MemoryBudgetError: (a ``ValueError``) the model grid would exceed the memory
                budget (e.g. 100 mm voxels resampled to 1.5 mm); checked before allocating.
        """
        arr = np.asarray(array)
        spacing = tuple(float(s) for s in spacing)
        if arr.ndim != self.spatial_dims:
            raise ValueError(
                f"recipe {self.name!r} expects a {self.spatial_dims}D array, got shape {arr.shape}"
            )
        if len(spacing) != arr.ndim or any(not 0 < s < float("inf") for s in spacing):
            raise ValueError(f"spacing {spacing} does not fit an array of shape {arr.shape}")
        shape = self.model_shape(arr.shape, spacing)
        model_spacing = tuple(n * s / m for n, s, m in zip(arr.shape, spacing, shape, strict=True))
        check_grid_budget(  # before anything is allocated: 100 mm voxels -> a 27 GiB grid
            shape,
            f"recipe {self.name!r} resamples the image of shape {arr.shape} at "
            f"{tuple(round(s, 4) for s in spacing)} mm to {tuple(round(s, 4) for s in model_spacing)} mm",
        )
        if not np.all(np.isfinite(arr)):
            raise ValueError("image holds NaN/Inf voxels: load it with nonfinite='replace' first")
        resized = resize_image(arr, shape, antialias=self.antialias)
        out, stats = normalise(resized, self.intensity)
        ctx = PreprocessContext(self.name, tuple(arr.shape), spacing, shape, model_spacing, stats)
        return out, ctx

    def model_shape(self, shape: Sequence[int], spacing: Sequence[float]) -> tuple[int, ...]:
        """Shape of the model grid for an input of ``shape`` at ``spacing`` mm."""
        if self.target_shape is not None:
            return tuple(int(n) for n in self.target_shape)
        if self.target_spacing is not None:
            return shape_for_spacing(shape, spacing, self.target_spacing)
        return tuple(int(n) for n in shape)

    def invert_labels(self, labels: np.ndarray, context: PreprocessContext) -> np.ndarray:
        """Map a label map on the model grid back onto the original grid (nearest neighbour).

        Returns:
            Labels of exactly ``context.original_shape``, same dtype as ``labels``.

        Raises:
            ValueError: ``labels`` is not on the model grid of ``context``.
        """
        labels = np.asarray(labels)
        if labels.shape != tuple(context.model_shape):
            raise ValueError(
                f"labels shape {labels.shape} is not the model grid {tuple(context.model_shape)}"
            )
        return resize_labels(labels, context.original_shape)

    def replace(self, **changes: Any) -> Recipe:
        """A copy with some fields changed (e.g. ``target_shape=(256, 256)`` for training)."""
        return dataclasses.replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields."""
        out = dataclasses.asdict(self)
        for key in ("target_spacing", "target_shape"):
            out[key] = None if out[key] is None else list(out[key])
        return out

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Recipe:
        """Inverse of :meth:`to_dict`."""
        data = dict(data)
        data["intensity"] = IntensityConfig(**data["intensity"])
        for key in ("target_spacing", "target_shape"):
            if data.get(key) is not None:
                data[key] = tuple(data[key])
        return cls(**data)


RECIPES: dict[str, Recipe] = {
    "ct": Recipe(
        "ct",
        3,
        IntensityConfig("window", -175.0, 250.0),
        target_spacing=(1.5, 1.5, 2.0),
        description="abdominal CT: 1.5x1.5x2 mm, HU window -175..250 -> [0, 1] (paper)",
    ),
    "prostate_mri": Recipe(
        "prostate_mri",
        3,
        IntensityConfig("zscore_nonzero"),
        target_spacing=(0.5, 0.5, 1.5),
        description="prostate T2 MRI: 0.5x0.5x1.5 mm, z-score over nonzero voxels (paper)",
    ),
    "chest_xray": Recipe(
        "chest_xray",
        2,
        IntensityConfig("minmax"),
        target_shape=(512, 512),
        description="chest radiograph: resize to 512x512 (paper code: 256), min-max -> [0, 1]",
    ),
    "brain_mri": Recipe(
        "brain_mri",
        3,
        IntensityConfig("percentile", 0.5, 99.5),
        target_spacing=(1.0, 1.0, 1.0),
        description="brain T1 MRI: 1 mm isotropic, 0.5..99.5 percentiles -> [0, 1]",
    ),
}


def get_recipe(name: str) -> Recipe:
    """The registered recipe ``name``; ``ValueError`` listing the known names otherwise."""
    try:
        return RECIPES[name]
    except KeyError:
        raise ValueError(f"unknown recipe {name!r}; known: {', '.join(RECIPES)}") from None
