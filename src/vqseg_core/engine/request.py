"""What to run: one frozen request (models, image, corruption, draws, device, focus)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from vqseg_core.perturb import Corruption

DECODE = ("first", "all")


@dataclass(frozen=True, eq=False)
class RunRequest:
    """One image, one corruption, a set of models.

    Attributes:
        models: a :class:`~vqseg_core.modelset.ModelSet` (or a pair).
        image: the raw image ``(H, W)`` or ``(X, Y, Z)`` as :func:`vqseg_core.io.load_image`
            gives it.
        spacing: mm per axis (``None``: 1 mm, unknown).
        corruption: kind, level and seed of draw 0 (draw ``d`` uses ``seed + d``).
        n_draws: corrupted draws (latent variance and flip maps need >= 2).
        device, precision: see :class:`~vqseg_core.inference.Predictor`.
        focus: for a volume, the input-grid axial slice (last axis) to finish first; a 2D
            slice model's latents are those of this slice.
        batch_size: draws per forward pass.
        decode: ``"first"`` (labels of draw 0: the live view) or ``"all"`` (every draw: the
            evaluation).
        latents: compute the latents (encoder only; skipped when ``False``).
        keys: run only these members, in this order (``None``: all).

    Raises:
        ValueError: naming the field, for a bad count, decode mode, key or image shape.
    """

    models: Any
    image: np.ndarray
    spacing: tuple[float, ...] | None = None
    corruption: Corruption = field(default_factory=lambda: Corruption("gaussian", 0.0, 0))
    n_draws: int = 1
    device: str = "auto"
    precision: str = "auto"
    focus: int | None = None
    batch_size: int = 8
    decode: str = "first"
    latents: bool = True
    keys: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        image = np.asarray(self.image)
        object.__setattr__(self, "image", image)
        if isinstance(self.n_draws, bool) or int(self.n_draws) != self.n_draws or self.n_draws < 1:
            raise ValueError(f"n_draws must be an int >= 1, got {self.n_draws!r}")
        if self.batch_size < 1:
            raise ValueError(f"batch_size must be >= 1, got {self.batch_size}")
        if self.decode not in DECODE:
            raise ValueError(f"decode must be one of {DECODE}, got {self.decode!r}")
        if self.spacing is not None:
            spacing = tuple(float(s) for s in self.spacing)
            if len(spacing) != image.ndim:
                raise ValueError(f"spacing {spacing} does not match the image shape {image.shape}")
            object.__setattr__(self, "spacing", spacing)
        if self.keys is not None:
            object.__setattr__(self, "keys", tuple(self.keys))
            for key in self.keys:
                self.models.member(key)  # KeyError naming the set's keys
        if image.ndim != self.models.spatial_dims:
            raise ValueError(
                f"model set {self.models.name!r} is {self.models.spatial_dims}D; "
                f"the image has shape {image.shape}"
            )

    @property
    def member_keys(self) -> tuple[str, ...]:
        """The members this request runs, in order."""
        return self.keys if self.keys is not None else tuple(self.models.keys)

    @property
    def spacing_mm(self) -> tuple[float, ...]:
        """``spacing``, or 1 mm per axis when unknown."""
        return self.spacing if self.spacing is not None else (1.0,) * self.image.ndim

    def with_(self, **changes: Any) -> RunRequest:
        """A copy with some fields changed (validated again)."""
        return replace(self, **changes)


def request_for(
    models: Any,
    image: np.ndarray,
    spacing: Sequence[float] | None = None,
    *,
    kind: str = "gaussian",
    level: float = 0.0,
    seed: int = 0,
    **options: Any,
) -> RunRequest:
    """A :class:`RunRequest` from a corruption given as kind, level and seed."""
    return RunRequest(models, image, None if spacing is None else tuple(spacing),
                      Corruption(kind, float(level), seed), **options)  # fmt: skip
