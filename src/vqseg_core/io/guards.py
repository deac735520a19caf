"""Checks made before and after reading voxel data: budget, truncation, shape, non-finite values."""

from __future__ import annotations

import math
from collections.abc import Sequence
from pathlib import Path
from typing import Literal

import numpy as np

from vqseg_core.io.errors import ImageLoadError

NonfinitePolicy = Literal["raise", "replace"]

#: Default memory budget for one loaded image, in bytes (2 GiB).
DEFAULT_MAX_BYTES: int = 2 * 1024**3

#: Value written in place of NaN/Inf voxels under ``nonfinite="replace"``.
NONFINITE_FILL: float = 0.0

#: Largest accepted length of one axis; anything longer is treated as a corrupt header.
MAX_AXIS_LENGTH: int = 1_000_000


def check_shape(path: Path, shape: Sequence[int]) -> tuple[int, ...]:
    """Refuse empty, zero-length, negative or absurd axis lengths; return the shape as ints."""
    dims = tuple(int(n) for n in shape)
    if not dims:
        raise ImageLoadError(path, "header declares no dimensions (0-dimensional image)")
    if any(n <= 0 for n in dims):
        raise ImageLoadError(path, f"header declares a zero-length or negative axis: shape {dims}")
    if any(n > MAX_AXIS_LENGTH for n in dims):
        raise ImageLoadError(
            path, f"header declares an absurd axis length: shape {dims} (limit {MAX_AXIS_LENGTH})"
        )
    return dims


def check_budget(path: Path, shape: Sequence[int], bytes_per_voxel: int, max_bytes: int) -> int:
    """Refuse, before allocating, an image whose decoded plus float32 copy exceed ``max_bytes``.

    Args:
        path: The file, for the error message.
        shape: Declared shape (voxels per axis, all axes including channels).
        bytes_per_voxel: Bytes of one decoded voxel as stored (all channels).
        max_bytes: Memory budget in bytes.

    Returns:
        The number of bytes the decoded data occupies as stored.
    """
    n_voxels = math.prod(int(n) for n in shape)
    stored = n_voxels * int(bytes_per_voxel)
    needed = stored + n_voxels * 4  # the stored array and the float32 copy live together once
    if needed > max_bytes:
        raise ImageLoadError(
            path,
            f"header declares shape {tuple(shape)} needing about {needed / 1024**2:.1f} MiB, "
            f"over the memory budget of {max_bytes / 1024**2:.1f} MiB (max_bytes); refused "
            "before reading voxel data",
        )
    return stored


def check_available(path: Path, needed: int, available: int, what: str = "voxel data") -> None:
    """Refuse a file whose uncompressed voxel data is shorter than the header declares."""
    if available < needed:
        raise ImageLoadError(
            path,
            f"truncated {what}: header declares {needed} bytes but only {max(available, 0)} "
            "are present",
        )


def check_file(path: Path) -> int:
    """Refuse a missing, non-regular or empty file; return its size in bytes."""
    if not path.exists():
        raise ImageLoadError(path, "file does not exist")
    if not path.is_file():
        raise ImageLoadError(path, "not a regular file")
    size = path.stat().st_size
    if size == 0:
        raise ImageLoadError(path, "file is empty (0 bytes)")
    return size


def apply_nonfinite_policy(
    path: Path, array: np.ndarray, policy: NonfinitePolicy, metadata: dict
) -> np.ndarray:
    """Count NaN/Inf voxels; raise (``"raise"``) or fill with ``NONFINITE_FILL`` (``"replace"``).

    The count is stored in ``metadata["nonfinite_count"]`` either way (0 when clean).
    """
    if policy not in ("raise", "replace"):
        raise ValueError(f"nonfinite must be 'raise' or 'replace', got {policy!r}")
    bad = ~np.isfinite(array)
    count = int(np.count_nonzero(bad))
    metadata["nonfinite_count"] = count
    if count == 0:
        return array
    if policy == "raise":
        raise ImageLoadError(
            path,
            f"{count} non-finite (NaN/Inf) voxel(s) of {array.size} after conversion to float32; "
            "pass nonfinite='replace' to replace them with "
            f"{NONFINITE_FILL} (the count is then recorded in metadata)",
        )
    array[bad] = NONFINITE_FILL
    metadata.setdefault("notes", []).append(
        f"{count} non-finite voxel(s) replaced with {NONFINITE_FILL}"
    )
    return array
