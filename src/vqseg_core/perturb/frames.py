"""Intensity frames: map an image to [0, 1] before corrupting it, and back afterwards.

The project's convention (PAPER.md, "Intensity frame for corruption"): CT is windowed to
-175..250 HU, X-ray is min-max scaled, MRI is scaled between its 0.5 and 99.5 percentiles;
values beyond the window are clipped to 0 or 1. The returned :class:`UnitRangeMapping` maps
corrupted images back with ``inverse``; clipped values are not recovered.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from typing import Any, Literal, TypeVar

import numpy as np

ArrayT = TypeVar("ArrayT")
FrameMode = Literal["minmax", "ct_window", "mr_percentile"]

CT_WINDOW_HU = (-175.0, 250.0)
"""The abdominal CT window of the paper's code, in Hounsfield units."""

MR_PERCENTILES = (0.5, 99.5)
"""Robust MR scaling: these percentiles of all voxels map to 0 and 1."""


@dataclass(frozen=True)
class UnitRangeMapping:
    """The affine map ``y = clip((x - low) / (high - low), 0, 1)`` and its inverse.

    Attributes:
        mode: how ``low`` and ``high`` were chosen.
        low: the raw value mapped to 0 (HU for CT).
        high: the raw value mapped to 1. When ``high == low`` everything maps to 0.
    """

    mode: str
    low: float
    high: float

    def forward(self, x: ArrayT) -> ArrayT:
        """Raw intensities to [0, 1] (clipped); integer inputs become float32."""
        x = _as_float(x)
        scale = self.high - self.low
        if scale <= 0:
            return x * 0  # type: ignore[operator,no-any-return]
        return _clip01((x - self.low) / scale)  # type: ignore[operator]

    def inverse(self, y: ArrayT) -> ArrayT:
        """[0, 1] back to raw intensities: ``low + y (high - low)``."""
        y = _as_float(y)
        return y * (self.high - self.low) + self.low  # type: ignore[operator,no-any-return]

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict."""
        return {"mode": self.mode, "low": self.low, "high": self.high}


def to_unit_range(
    x: ArrayT,
    mode: FrameMode = "minmax",
    *,
    window: tuple[float, float] = CT_WINDOW_HU,
    percentiles: tuple[float, float] = MR_PERCENTILES,
) -> tuple[ArrayT, UnitRangeMapping]:
    """Map an image into the [0, 1] corruption frame.

    Args:
        x: numpy array or torch tensor of raw intensities, any shape (all values are used).
        mode: ``"minmax"`` (X-ray), ``"ct_window"`` (``window`` in HU) or ``"mr_percentile"``
            (``percentiles`` of all values).
        window: ``(low, high)`` raw values for ``"ct_window"``.
        percentiles: ``(low, high)`` percentiles in [0, 100] for ``"mr_percentile"``.

    Returns:
        ``(y, mapping)``: ``y`` of the same type and shape (float; integer inputs become
        float32) with values in [0, 1], and the mapping whose ``inverse`` undoes it.
    """
    values = _to_numpy(x)
    if values.size == 0 or not np.isfinite(values).all():
        raise ValueError("image must be non-empty with finite values")
    if mode == "minmax":
        low, high = float(values.min()), float(values.max())
    elif mode == "ct_window":
        low, high = (float(v) for v in window)
        if not high > low:
            raise ValueError(f"window must be (low, high) with low < high, got {window}")
    elif mode == "mr_percentile":
        p_low, p_high = percentiles
        if not 0 <= p_low < p_high <= 100:
            raise ValueError(f"percentiles must satisfy 0 <= low < high <= 100, got {percentiles}")
        low, high = (float(v) for v in np.percentile(values, [p_low, p_high]))
    else:
        raise ValueError(f"mode must be 'minmax', 'ct_window' or 'mr_percentile', got {mode!r}")
    mapping = UnitRangeMapping(mode, low, high)
    return mapping.forward(x), mapping


def _is_tensor(x: object) -> bool:
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(x, torch.Tensor)


def _to_numpy(x: Any) -> np.ndarray:
    if _is_tensor(x):
        return x.detach().cpu().double().numpy()  # type: ignore[no-any-return]
    return np.asarray(x)


def _as_float(x: Any) -> Any:
    """Floating arrays and tensors unchanged; anything else as float32."""
    if _is_tensor(x):
        return x if x.is_floating_point() else x.float()
    x = np.asarray(x)
    return x if np.issubdtype(x.dtype, np.floating) else x.astype(np.float32)


def _clip01(x: Any) -> Any:
    return x.clamp(0.0, 1.0) if _is_tensor(x) else np.clip(x, 0.0, 1.0)
