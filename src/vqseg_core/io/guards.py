"""Checks made before and after reading voxel data: budget, truncation, shape, non-finite values."""

from __future__ import annotations

import math
import os
import stat
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

#: Smallest accepted voxel size in mm (1 micrometre). The finest medical grids in use (micro-CT,
#: clinical OCT, mammography at 0.05 mm) stay above it; a header below it is a unit error
#: (metres or micrometres written as mm) or garbage, and such a grid maps to a 1-voxel volume
#: at any model resolution.
MIN_SPACING_MM: float = 1e-3

#: Largest accepted voxel size in mm (1 m): no scanner samples coarser than the whole body.
MAX_SPACING_MM: float = 1e3


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


def file_kind(mode: int) -> str:
    """Words for a ``st_mode`` that is not a regular file (``"FIFO (named pipe)"``, ...)."""
    for test, name in (
        (stat.S_ISDIR, "directory"),
        (stat.S_ISFIFO, "FIFO (named pipe)"),
        (stat.S_ISCHR, "character device"),
        (stat.S_ISBLK, "block device"),
        (stat.S_ISSOCK, "socket"),
    ):
        if test(mode):
            return name
    return "special file"


def check_regular(path: Path, owner: Path | None = None, what: str = "file") -> int:
    """Refuse, without opening it, anything at ``path`` that is not a readable regular file.

    A FIFO would block the reader forever and ``/dev/zero`` would read as endless zeros, so
    only ``stat.S_ISREG`` entries (after symlinks) are opened. Returns the size in bytes.

    Args:
        path: The file to check.
        owner: The file the error is about when ``path`` is a detached part of it (a data
            file named in a header, a member of a DICOM series); default ``path`` itself.
        what: What ``path`` is to ``owner``, for the message (``"data file"``, ...).
    """
    blame = path if owner is None else owner
    named = "" if owner is None else f"{what} '{path}': "
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise ImageLoadError(blame, f"{named}file does not exist") from None
    except PermissionError as err:
        raise ImageLoadError(blame, f"{named}permission denied ({err.strerror})") from err
    except OSError as err:
        raise ImageLoadError(blame, f"{named}cannot be examined ({err.strerror})") from err
    if not stat.S_ISREG(st.st_mode):
        raise ImageLoadError(
            blame, f"{named}not a regular file but a {file_kind(st.st_mode)}; refused unread"
        )
    _check_readable(path, blame, named)
    return int(st.st_size)


def _check_readable(path: Path, blame: Path, named: str) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except PermissionError as err:
        raise ImageLoadError(
            blame, f"{named}permission denied: the file cannot be opened for reading"
        ) from err
    except OSError as err:
        raise ImageLoadError(blame, f"{named}cannot be opened ({err.strerror})") from err
    os.close(fd)


def check_file(path: Path) -> int:
    """Refuse a missing, unreadable, non-regular or empty file; return its size in bytes."""
    size = check_regular(path)
    if size == 0:
        raise ImageLoadError(path, "file is empty (0 bytes)")
    return size


def check_spacing(path: Path, spacing: Sequence[float]) -> None:
    """Refuse voxel sizes outside [:data:`MIN_SPACING_MM`, :data:`MAX_SPACING_MM`]."""
    bad = [s for s in spacing if not (MIN_SPACING_MM <= float(s) <= MAX_SPACING_MM)]
    if bad:
        raise ImageLoadError(
            path,
            f"voxel spacing ({', '.join(f'{float(s):.3g}' for s in spacing)}) mm lies outside "
            "the accepted "
            f"{MIN_SPACING_MM:g} .. {MAX_SPACING_MM:g} mm (a unit error in the header?)",
        )


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
