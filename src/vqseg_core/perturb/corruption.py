"""Apply a corruption: the replayable :class:`Corruption` record and the :func:`corrupt` call.

Inputs must already be in the [0, 1] intensity frame (see :mod:`vqseg_core.perturb.frames`):
values outside it, non-finite values and non-floating dtypes raise ``ValueError``. Outputs keep
the input's type (``numpy.ndarray`` or ``torch.Tensor``), shape, dtype and device; they are
finite and lie in [0, 1]. Computation happens in float64 numpy on the CPU; tensors come back
detached (no gradient flows through a corruption).

Spatial axes: by default a 2-D array is one 2D image, 3-D one 3D volume, 4-D ``(B, C, H, W)``
and 5-D ``(B, C, H, W, D)``. Pass ``spatial_dims`` for anything else (e.g. ``spatial_dims=2``
for a ``(C, H, W)`` tensor). Every leading sample/channel is corrupted with the same seed, so it
gets the same noise pattern (common random numbers across a batch, too).
"""

from __future__ import annotations

import json
import math
import numbers
import sys
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from vqseg_core.perturb.registry import CorruptionSpec, get_spec

ArrayT = TypeVar("ArrayT")

_RANGE_TOLERANCE = 1e-6
_DEFAULT_SPATIAL_DIMS = {2: 2, 3: 3, 4: 2, 5: 3}


@dataclass(frozen=True)
class Corruption:
    """A fully specified corruption: applying it twice gives the same output.

    Attributes:
        kind: a key of :data:`~vqseg_core.perturb.registry.REGISTRY`.
        level: strength in the kind's units (see its spec); validated against its range.
        seed: non-negative integer seeding ``numpy.random.default_rng``; one seed shared by all
            levels gives the same pattern at different strengths.
        spacing: voxel size in mm per spatial axis, or ``None`` for 1 mm (only kinds with
            ``uses_spacing`` look at it).
    """

    kind: str
    level: float
    seed: int = 0
    spacing: tuple[float, ...] | None = None

    def __post_init__(self) -> None:
        spec = get_spec(self.kind)
        if isinstance(self.level, bool) or not isinstance(self.level, numbers.Real):
            raise ValueError(f"level for {self.kind!r} must be a number, got {self.level!r}")
        level = float(self.level)
        if not (spec.minimum <= level <= spec.maximum):
            raise ValueError(
                f"level {level} out of range for {self.kind!r}: expected "
                f"{spec.minimum} to {spec.maximum} {spec.units}"
            )
        if (
            isinstance(self.seed, bool)
            or not isinstance(self.seed, numbers.Integral)
            or self.seed < 0
        ):
            raise ValueError(f"seed must be a non-negative integer, got {self.seed!r}")
        object.__setattr__(self, "level", level)
        object.__setattr__(self, "seed", int(self.seed))
        if self.spacing is not None:
            spacing = tuple(float(s) for s in self.spacing)
            if not spacing or not all(math.isfinite(s) and s > 0 for s in spacing):
                raise ValueError(
                    f"spacing must be positive finite numbers (mm), got {self.spacing!r}"
                )
            object.__setattr__(self, "spacing", spacing)

    @property
    def spec(self) -> CorruptionSpec:
        """The registry entry of this kind."""
        return get_spec(self.kind)

    @property
    def is_identity(self) -> bool:
        """Whether this corruption returns its input unchanged."""
        return self.level == self.spec.identity

    def apply(self, image: ArrayT, *, spatial_dims: int | None = None) -> ArrayT:
        """Corrupt ``image`` (numpy array or torch tensor in [0, 1]); see the module docstring.

        Args:
            image: ``(H, W)``, ``(H, W, D)``, ``(B, C, H, W)``, ``(B, C, H, W, D)`` or any
                leading dims with ``spatial_dims`` given; floating dtype, values in [0, 1].
            spatial_dims: 2 or 3, the number of trailing spatial axes; inferred when ``None``.

        Returns:
            The corrupted image, same type, shape, dtype (and device for tensors).
        """
        torch = sys.modules.get("torch")
        if torch is not None and isinstance(image, torch.Tensor):
            work = image.detach().to(device="cpu", dtype=torch.float64).numpy()
            out = self._apply_numpy(work, str(image.dtype), spatial_dims)
            return torch.from_numpy(out).to(device=image.device, dtype=image.dtype)  # type: ignore[return-value]
        if not isinstance(image, np.ndarray):
            raise TypeError(
                f"image must be a numpy array or torch tensor, got {type(image).__name__}"
            )
        if not np.issubdtype(image.dtype, np.floating):
            raise ValueError(
                f"image dtype must be floating (map it to [0, 1] with to_unit_range), got {image.dtype}"
            )
        return self._apply_numpy(image.astype(np.float64), str(image.dtype), spatial_dims).astype(
            image.dtype, copy=False
        )  # type: ignore[return-value]

    def _apply_numpy(self, x: np.ndarray, dtype_name: str, spatial_dims: int | None) -> np.ndarray:
        """Validate a float64 copy of the input and corrupt it sample by sample."""
        if "float" not in dtype_name:
            raise ValueError(
                f"image dtype must be floating (map it to [0, 1] with to_unit_range), got {dtype_name}"
            )
        dims = _spatial_dims(x.ndim, spatial_dims)
        spec = self.spec
        if dims not in spec.spatial_dims:
            raise ValueError(
                f"corruption {self.kind!r} supports {spec.spatial_dims}D images, not {dims}D"
            )
        spacing = self.spacing if self.spacing is not None else (1.0,) * dims
        if len(spacing) != dims:
            raise ValueError(f"spacing has {len(spacing)} entries for a {dims}D image: {spacing}")
        _check_unit_range(x)
        if self.is_identity or x.size == 0:
            return x.copy()
        x = np.clip(x, 0.0, 1.0)
        samples = x.reshape((-1, *x.shape[x.ndim - dims :]))
        out = np.empty_like(samples)
        with np.errstate(over="raise", invalid="raise", divide="raise"):
            for i, sample in enumerate(samples):
                out[i] = spec.func(sample, self.level, np.random.default_rng(self.seed), spacing)
        if not np.isfinite(out).all():
            raise RuntimeError(f"corruption {self} produced non-finite values")
        return out.reshape(x.shape)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict; :meth:`from_dict` replays it."""
        spacing = list(self.spacing) if self.spacing is not None else None
        return {"kind": self.kind, "level": self.level, "seed": self.seed, "spacing": spacing}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Corruption:
        """Inverse of :meth:`to_dict`.

        Raises:
            ValueError: not a mapping, unknown or missing keys (named), or a bad value.
        """
        if not isinstance(data, dict):
            raise ValueError(f"a corruption record must be a JSON object, got {type(data).__name__}")
        unknown = sorted(set(data) - {"kind", "level", "seed", "spacing"}, key=str)
        if unknown:
            raise ValueError(f"unknown corruption keys: {unknown}")
        missing = [k for k in ("kind", "level") if k not in data]
        if missing:
            raise ValueError(f"a corruption record needs {' and '.join(missing)}, got {data!r}")
        spacing = data.get("spacing")
        if spacing is not None and not isinstance(spacing, list | tuple):
            raise ValueError(f"spacing must be a list of numbers (mm), got {spacing!r}")
        if not isinstance(data["kind"], str):
            raise ValueError(f"kind must be a corruption name, got {data['kind']!r}")
        return cls(
            kind=data["kind"],
            level=data["level"],
            seed=data.get("seed", 0),
            spacing=tuple(spacing) if spacing is not None else None,
        )

    def to_json(self) -> str:
        """The record as a JSON string."""
        return json.dumps(self.to_dict())

    @classmethod
    def from_json(cls, text: str) -> Corruption:
        """Inverse of :meth:`to_json`.

        Raises:
            ValueError: not JSON, or not a corruption record (what is wrong is named).
        """
        try:
            data = json.loads(text)
        except ValueError as exc:  # JSONDecodeError, or an integer of thousands of digits
            raise ValueError(f"not a corruption record (JSON): {exc}") from None
        return cls.from_dict(data)


def corrupt(
    image: ArrayT,
    kind: str,
    level: float,
    seed: int = 0,
    *,
    spacing: tuple[float, ...] | None = None,
    spatial_dims: int | None = None,
) -> ArrayT:
    """Corrupt an image in the [0, 1] intensity frame: ``Corruption(kind, level, seed, spacing).apply``.

    Args:
        image: numpy array or torch tensor, floating dtype, values in [0, 1]; ``(H, W)``,
            ``(H, W, D)``, ``(B, C, H, W)`` or ``(B, C, H, W, D)`` (other layouts: pass
            ``spatial_dims``). Every leading sample gets the same seed, hence the same pattern.
        kind: a registry key, e.g. ``"gaussian"`` (see :func:`list_corruptions`).
        level: strength in the kind's units (``%`` of the intensity range for the paper's three).
        seed: seed of the random fields; the same seed at two levels gives the same pattern.
        spacing: voxel size in mm per spatial axis (default 1 mm), used by blur and motion.
        spatial_dims: 2 or 3 trailing spatial axes; inferred from ``image.ndim`` when ``None``.

    Returns:
        The corrupted image: same type, shape, dtype and device; exactly the input at the kind's
        identity level (0 for all kinds but gamma, downsample (1) and jpeg (100)).

    Raises:
        ValueError: unknown kind, level out of range, bad seed/spacing/dims, non-floating
            dtype, or values outside [0, 1] / non-finite.
    """
    return Corruption(kind, level, seed, spacing).apply(image, spatial_dims=spatial_dims)


def _spatial_dims(ndim: int, spatial_dims: int | None) -> int:
    """The number of trailing spatial axes, checked against the array's rank."""
    if spatial_dims is None:
        if ndim not in _DEFAULT_SPATIAL_DIMS:
            raise ValueError(
                f"cannot infer spatial dims of a {ndim}-D image; pass spatial_dims=2 or 3"
            )
        return _DEFAULT_SPATIAL_DIMS[ndim]
    if spatial_dims not in (2, 3) or spatial_dims > ndim:
        raise ValueError(
            f"spatial_dims must be 2 or 3 and at most the image rank {ndim}, got {spatial_dims!r}"
        )
    return spatial_dims


def _check_unit_range(x: np.ndarray) -> None:
    """Raise unless every value is finite and within [0, 1] (up to rounding)."""
    if x.size == 0:
        return
    if not np.isfinite(x).all():
        raise ValueError("image contains non-finite values")
    lo, hi = float(x.min()), float(x.max())
    if lo < -_RANGE_TOLERANCE or hi > 1.0 + _RANGE_TOLERANCE:
        raise ValueError(
            f"image values must lie in [0, 1] (got {lo:.4g} to {hi:.4g}); map them first with "
            "vqseg_core.perturb.frames.to_unit_range"
        )
