"""Intensity normalisation steps of the preprocessing recipes (config + pure function)."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np

IntensityKind = Literal["window", "zscore_nonzero", "minmax", "percentile"]
_KINDS = ("window", "zscore_nonzero", "minmax", "percentile")


@dataclass(frozen=True)
class IntensityConfig:
    """How raw intensities become model inputs.

    Attributes:
        kind: ``"window"``: clip ``[low, high]`` (raw units, e.g. HU) and map to [0, 1];
            ``"zscore_nonzero"``: ``(x - mean) / std`` over nonzero voxels, zeros stay 0
            (MONAI ``NormalizeIntensity(nonzero=True)``); ``"minmax"``: ``[min, max] -> [0, 1]``;
            ``"percentile"``: clip to the ``low``..``high`` percentiles (e.g. 0.5, 99.5) and
            map to [0, 1].
        low: Window floor (raw units) or lower percentile (0-100).
        high: Window ceiling (raw units) or upper percentile (0-100).
    """

    kind: IntensityKind
    low: float | None = None
    high: float | None = None

    def __post_init__(self) -> None:
        if self.kind not in _KINDS:
            raise ValueError(f"intensity kind must be one of {_KINDS}, got {self.kind!r}")
        bounded = self.kind in ("window", "percentile")
        if bounded and (self.low is None or self.high is None or not self.low < self.high):
            raise ValueError(
                f"intensity {self.kind!r} needs low < high, got low={self.low}, high={self.high}"
            )
        if self.kind == "percentile" and not (0 <= self.low <= 100 and 0 <= self.high <= 100):  # type: ignore[operator]
            raise ValueError(f"percentiles must lie in [0, 100], got {self.low}, {self.high}")

    def to_dict(self) -> dict[str, Any]:
        """JSON-able fields."""
        return asdict(self)


def normalise(array: np.ndarray, config: IntensityConfig) -> tuple[np.ndarray, dict[str, float]]:
    """Apply ``config`` to a float array; returns float32 and the statistics used (JSON-able)."""
    x = np.asarray(array, dtype=np.float32)
    if config.kind == "window":
        lo, hi = float(config.low), float(config.high)  # type: ignore[arg-type]
        return _to_unit(x, lo, hi), {"low": lo, "high": hi}
    if config.kind == "percentile":
        lo, hi = (float(v) for v in np.percentile(x, [config.low, config.high]))
        return _to_unit(x, lo, hi), {"low": lo, "high": hi}
    if config.kind == "minmax":
        lo, hi = (float(x.min()), float(x.max())) if x.size else (0.0, 0.0)
        return _to_unit(x, lo, hi), {"low": lo, "high": hi}
    nonzero = x != 0
    if not nonzero.any():
        return x.copy(), {"mean": 0.0, "std": 1.0}
    mean = float(x[nonzero].mean())
    std = float(x[nonzero].std()) or 1.0
    out = np.zeros_like(x)
    out[nonzero] = (x[nonzero] - mean) / std
    return out, {"mean": mean, "std": std}


def _to_unit(x: np.ndarray, lo: float, hi: float) -> np.ndarray:
    if hi <= lo:  # constant image: all zeros rather than a division by zero
        return np.zeros_like(x)
    return np.clip((x - lo) / (hi - lo), 0.0, 1.0).astype(np.float32)
