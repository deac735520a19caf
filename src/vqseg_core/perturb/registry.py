"""The table of corruption kinds that the library, the CLI and the GUI read.

Each :class:`CorruptionSpec` names a kind, its level's units and range, the level at which it is
the identity, and the function that implements it. Every function has the signature
``fn(x, level, rng, spacing) -> y`` with ``x`` a float64 array of spatial axes only (2D or 3D)
in the [0, 1] intensity frame, ``rng`` a fresh ``numpy.random.Generator`` made from the seed and
``spacing`` the voxel size in mm; use :func:`vqseg_core.perturb.corrupt` rather than calling them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import numpy as np

from vqseg_core.perturb import blur, intensity, mri_artifacts, noise, resolution

CorruptionFn = Callable[[np.ndarray, float, np.random.Generator, tuple[float, ...]], np.ndarray]


@dataclass(frozen=True)
class CorruptionSpec:
    """One corruption kind.

    Attributes:
        name: registry key, e.g. ``"gaussian"``.
        label: human-readable name for menus.
        units: units of the level: ``"%"`` (of the [0, 1] intensity range unless the
            description says otherwise), ``"mm"``, ``"factor"``, ``"gamma"``, ``"quality"``.
        minimum: smallest allowed level.
        maximum: largest allowed level.
        default: a moderate level for a first look.
        identity: the level at which the corruption returns its input exactly (0 for most kinds).
        spatial_dims: the image dimensionalities it supports, ``(2, 3)`` or ``(2,)``.
        stochastic: whether the output depends on the seed.
        uses_spacing: whether the output depends on the voxel spacing.
        description: one or two sentences on what it does to the image.
        func: the implementation (not serialised).
    """

    name: str
    label: str
    units: str
    minimum: float
    maximum: float
    default: float
    identity: float
    spatial_dims: tuple[int, ...]
    stochastic: bool
    uses_spacing: bool
    description: str
    func: CorruptionFn = field(repr=False, compare=False)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict of everything but the function."""
        return {
            "name": self.name,
            "label": self.label,
            "units": self.units,
            "minimum": self.minimum,
            "maximum": self.maximum,
            "default": self.default,
            "identity": self.identity,
            "spatial_dims": list(self.spatial_dims),
            "stochastic": self.stochastic,
            "uses_spacing": self.uses_spacing,
            "description": self.description,
        }


def _spec(
    name: str,
    label: str,
    units: str,
    levels: tuple[float, float, float],
    func: CorruptionFn,
    description: str,
    *,
    identity: float = 0.0,
    dims: tuple[int, ...] = (2, 3),
    stochastic: bool = True,
    uses_spacing: bool = False,
) -> CorruptionSpec:
    lo, hi, default = levels
    return CorruptionSpec(
        name,
        label,
        units,
        lo,
        hi,
        default,
        identity,
        dims,
        stochastic,
        uses_spacing,
        description,
        func,
    )


_SPECS = (
    _spec("gaussian", "Gaussian noise", "%", (0.0, 30.0, 10.0), noise.gaussian,
          "Adds N(0, sigma^2) with sigma = level/100, then clips to [0, 1] (the paper's Gaussian)."),
    _spec("salt_and_pepper", "Salt and pepper", "%", (0.0, 30.0, 5.0), noise.salt_and_pepper,
          "Replaces each pixel with probability level/100, half by 0 and half by 1."),
    _spec("poisson", "Poisson (shot) noise", "%", (0.0, 30.0, 10.0), noise.poisson,
          "Photon counts Poisson(x c)/c with c = 0.5/(level/100)^2: noise sd level/100 at mid-grey."),
    _spec("speckle", "Speckle noise", "%", (0.0, 60.0, 15.0), noise.speckle,
          "Multiplicative noise x (1 + sigma z), sigma = level/100, clipped to [0, 1]."),
    _spec("rician", "Rician noise", "%", (0.0, 30.0, 5.0), noise.rician,
          "Magnitude of x plus complex Gaussian noise of sd level/100 per channel (MR magnitude noise)."),
    _spec("gaussian_blur", "Gaussian blur", "mm", (0.0, 5.0, 1.0), blur.gaussian_blur,
          "Gaussian smoothing with sd = level mm along every axis (level/spacing voxels).",
          stochastic=False, uses_spacing=True),
    _spec("bias_field", "Bias field", "%", (0.0, 100.0, 30.0), mri_artifacts.bias_field,
          "Smooth multiplicative field exp(P), P a random cubic (TorchIO's BiasField); gain "
          "within 1 +- level % (as a ratio: between 1/(1 + level/100) and 1 + level/100)."),
    _spec("motion", "Motion", "mm", (0.0, 10.0, 2.0), mri_artifacts.motion,
          "Rigid translation of level mm part-way through the k-space acquisition (TorchIO's "
          "Motion without rotation; MR motion ghosts).",
          uses_spacing=True),
    _spec("ghosting", "Ghosting", "%", (0.0, 100.0, 50.0), mri_artifacts.ghosting,
          "Every n-th k-space plane along one axis attenuated by level %, centre kept (n random "
          "in 2-8; TorchIO's Ghosting with intensity level/100)."),
    _spec("kspace_spike", "k-space spike", "%", (0.0, 100.0, 20.0), mri_artifacts.kspace_spike,
          "One spike at a random k-space position: stripes of amplitude level % of the image mean "
          "(TorchIO's Spike with intensity level/100)."),
    _spec("gibbs", "Gibbs ringing", "%", (0.0, 90.0, 50.0), mri_artifacts.gibbs,
          "MONAI GibbsNoise with alpha = level/100: k-space outside a centred disc of radius "
          "(1 - alpha) sqrt(2)/2 max(shape) zeroed (truncation ringing).",
          stochastic=False),
    _spec("gamma", "Gamma", "gamma", (0.25, 4.0, 2.0), intensity.gamma,
          "Power law x ** gamma; 1 is the identity, below 1 brightens, above 1 darkens.",
          identity=1.0, stochastic=False),
    _spec("contrast", "Contrast reduction", "%", (0.0, 90.0, 50.0), intensity.contrast,
          "Shrinks intensities towards the image mean by level %.", stochastic=False),
    _spec("downsample", "Downsampling", "factor", (1.0, 8.0, 2.0), resolution.downsample,
          "Shrinks every axis by the factor (anti-aliased) and resizes back; 1 is the identity.",
          identity=1.0, stochastic=False),
    _spec("jpeg", "JPEG compression", "quality", (1.0, 100.0, 30.0), resolution.jpeg,
          "8-bit greyscale JPEG round trip at the given quality (rounded); 100 means no compression.",
          identity=100.0, dims=(2,), stochastic=False),
)  # fmt: skip

REGISTRY: Mapping[str, CorruptionSpec] = MappingProxyType({s.name: s for s in _SPECS})
"""Every corruption kind by name, the paper's three first."""

PAPER_KINDS = ("gaussian", "salt_and_pepper", "poisson")
"""The corruptions of the source paper (levels 0-30 %)."""


def list_corruptions(spatial_dims: int | None = None) -> list[CorruptionSpec]:
    """All corruption kinds in registry order, optionally only those supporting ``spatial_dims``."""
    if spatial_dims is not None and spatial_dims not in (2, 3):
        raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
    return [s for s in _SPECS if spatial_dims is None or spatial_dims in s.spatial_dims]


def get_spec(kind: str) -> CorruptionSpec:
    """The spec of ``kind``; an unknown kind raises ``ValueError`` listing the known ones."""
    try:
        return REGISTRY[kind]
    except (KeyError, TypeError):
        raise ValueError(
            f"unknown corruption kind {kind!r}; known kinds: {sorted(REGISTRY)}"
        ) from None
