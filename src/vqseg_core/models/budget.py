"""Memory budgets: how big a network or an array may be before anything is allocated.

A config read from a file (an export's JSON, a checkpoint, a YAML override) can describe a
network of any size: ``codebook_size: 1000000000`` asks for a terabyte the moment the quantiser
is built. :func:`model_state_numel` counts the elements of the network's state dict from the
config alone (exactly: the tests compare it with built networks), and :func:`check_model_budget`
refuses a config over :func:`memory_budget` with a :class:`MemoryBudgetError` *before*
:func:`~vqseg_core.models.build_model` allocates. :func:`check_array_budget` does the same for
an array about to be created (a resampled volume).

The budget is ``VQSEG_MEMORY_BUDGET`` when set (bytes, or with a unit: ``512M``, ``8G``,
``1.5T``), else half the memory available now, at most :data:`DEFAULT_CAP` (16 GiB).
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Mapping, Sequence
from typing import Any

ENV = "VQSEG_MEMORY_BUDGET"
DEFAULT_CAP = 16 * 2**30
"""The largest default budget (16 GiB), whatever the machine has free."""

MAX_LEVELS = 12
"""At most this many UNet levels (11 stride-2 downsamplings, a factor of 2048)."""

_UNITS = {"": 1, "B": 1, "K": 2**10, "M": 2**20, "G": 2**30, "T": 2**40}
_SIZE = re.compile(r"\s*([0-9]+(?:\.[0-9]*)?)\s*([KMGT]?)(?:I?B)?\s*", re.IGNORECASE)


class MemoryBudgetError(ValueError):
    """Something would need more memory than the budget; nothing was allocated.

    Attributes:
        needed: the estimated bytes.
        budget: the budget in bytes.
    """

    def __init__(self, message: str, needed: int, budget: int) -> None:
        super().__init__(message)
        self.needed = int(needed)
        self.budget = int(budget)

    def __reduce__(self) -> tuple[type, tuple[str, int, int]]:
        return type(self), (str(self), self.needed, self.budget)


def parse_size(text: str) -> int:
    """Bytes of a size such as ``"8G"``, ``"512MiB"``, ``"1.5T"`` or ``"1000000"``.

    Raises:
        ValueError: not a size.
    """
    match = _SIZE.fullmatch(str(text))
    if match is None:
        raise ValueError(f"not a memory size: {text!r} (e.g. 8G, 512M, 1000000)")
    return int(float(match.group(1)) * _UNITS[match.group(2).upper()])


def available_memory() -> int | None:
    """Bytes of memory available now (Linux ``MemAvailable``), or ``None`` when unknown."""
    try:
        with open("/proc/meminfo", encoding="ascii") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES")) * int(os.sysconf("SC_PAGE_SIZE"))
    except (AttributeError, OSError, ValueError):
        return None


def memory_budget() -> int:
    """The memory budget in bytes (see the module docstring).

    Raises:
        ValueError: ``VQSEG_MEMORY_BUDGET`` is set but is not a size.
    """
    text = os.environ.get(ENV, "").strip()
    if text:
        try:
            return parse_size(text)
        except ValueError as exc:
            raise ValueError(f"{ENV}: {exc}") from None
    free = available_memory()
    return DEFAULT_CAP if free is None else max(1, min(DEFAULT_CAP, free // 2))


def format_bytes(n: float) -> str:
    """``n`` bytes for people: ``"27.0 GiB"``, ``"512.0 MiB"``, ``"12 B"``."""
    n = float(n)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if abs(n) < 1024 or unit == "PiB":
            return f"{int(n)} B" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} PiB"  # pragma: no cover


def check_array_budget(
    shape: Sequence[int], itemsize: int, what: str, *, copies: int = 1, budget: int | None = None
) -> int:
    """Refuse to create ``copies`` arrays of ``shape`` x ``itemsize`` bytes over the budget.

    Args:
        shape: the array's shape.
        itemsize: bytes per element (4 for float32).
        what: what the array is, for the message (e.g. ``"resampling with recipe 'ct'"``).
        copies: working copies needed at once.
        budget: bytes (default :func:`memory_budget`).

    Returns:
        The estimated bytes.

    Raises:
        MemoryBudgetError: naming ``what``, the shape, the estimate and the budget.
    """
    one = math.prod(int(n) for n in shape) * int(itemsize)
    needed = one * int(copies)
    limit = memory_budget() if budget is None else int(budget)
    if needed > limit:
        working = f" ({copies} working copies)" if copies > 1 else ""
        raise MemoryBudgetError(
            f"{what}: an array of shape {tuple(int(n) for n in shape)} takes "
            f"{format_bytes(one)}, about {format_bytes(needed)} in all{working}, over the "
            f"memory budget of {format_bytes(limit)} "
            f"(set {ENV}, e.g. {ENV}=64G, to allow more)",
            needed,
            limit,
        )
    return needed


# ---- networks ---------------------------------------------------------------------------------
def _conv(sd: int, cin: int, cout: int, kernel: int) -> int:
    return cin * cout * kernel**sd + cout


def _res_block(sd: int, cin: int, cout: int) -> int:
    n = 2 * cin + _conv(sd, cin, cout, 3) + 2 * cout + _conv(sd, cout, cout, 3)
    return n + (0 if cin == cout else _conv(sd, cin, cout, 1))


def _quantizer(codes: int, dim: int, ema: bool) -> tuple[int, int]:
    """``(float elements, bool elements)`` of one quantiser's state."""
    floats = codes * dim + codes  # codebook, usage
    if ema:
        floats += codes + codes * dim  # ema_count, ema_sum
    return floats, 1  # the ``initialized`` flag


def model_state_numel(config: Any) -> tuple[int, int]:
    """``(floating elements, bool elements)`` of the state dict of the network ``config`` builds.

    Exact for the kinds of :data:`~vqseg_core.models.config.MODEL_KINDS` (parameters and
    persistent buffers); computed from the numbers alone, so it is safe on any config.

    Args:
        config: a :class:`~vqseg_core.models.ModelConfig` (or an object with its fields).
    """
    sd = int(config.spatial_dims)
    cin, cout = int(config.in_channels), int(config.out_channels)
    ch = [int(c) for c in config.channels]
    n = int(config.num_res_blocks)
    total = _conv(sd, cin, ch[0], 3)  # stem
    for i, c in enumerate(ch):
        total += n * _res_block(sd, c, c)
        if i + 1 < len(ch):
            total += _conv(sd, c, ch[i + 1], 3)  # down
    for i in reversed(range(len(ch) - 1)):
        c = ch[i]
        if config.upsample == "nearest":
            total += _conv(sd, ch[i + 1], c, 3)
        else:
            total += ch[i + 1] * c * 2**sd + c
        total += _res_block(sd, 2 * c, c) + (n - 1) * _res_block(sd, c, c)
    total += 2 * ch[0] + _conv(sd, ch[0], cout, 1)  # head
    if getattr(config, "stem", "full") == "lean":  # the head's upsampling to full resolution
        c = ch[0]
        total += _conv(sd, c, c, 3) if config.upsample == "nearest" else c * c * 2**sd + c
    flags = 0
    if config.kind in ("vqunet", "vqskip"):
        ema = config.ema_decay is not None
        k, d, width = int(config.codebook_size), int(config.codebook_dim), ch[-1]
        floats, bools = _quantizer(k, d, ema)
        total += floats + _conv(sd, width, d, 1) + (0 if d == width else _conv(sd, d, width, 1))
        flags += bools
        if config.kind == "vqskip":
            levels = tuple(config.quantized_skips) or tuple(range(len(ch) - 1))
            for level in levels:
                if 0 <= int(level) < len(ch) - 1:
                    floats, bools = _quantizer(int(config.skip_codebook_size), ch[int(level)], ema)
                    total += floats
                    flags += bools
    return total, flags


def model_bytes(config: Any) -> int:
    """Bytes of the float32 state dict of the network ``config`` builds."""
    floats, bools = model_state_numel(config)
    return 4 * floats + bools


def check_model_budget(
    config: Any, *, source: str | None = None, budget: int | None = None
) -> int:
    """Refuse a network config whose weights alone would exceed the memory budget.

    Also refuses more than :data:`MAX_LEVELS` levels, before anything is counted.

    Args:
        config: a :class:`~vqseg_core.models.ModelConfig`.
        source: the file the config came from, for the message.
        budget: bytes (default :func:`memory_budget`).

    Returns:
        The network's state bytes (float32).

    Raises:
        MemoryBudgetError: naming ``source``, the fields that make it large and the budget.
        ValueError: too many levels.
    """
    where = f"{source}: " if source else ""
    if len(config.channels) > MAX_LEVELS:
        raise ValueError(
            f"{where}model config has {len(config.channels)} levels in channels; "
            f"at most {MAX_LEVELS} are supported"
        )
    try:
        needed = model_bytes(config)
    except (TypeError, ValueError, OverflowError):  # not numbers: the constructors say which
        return 0
    limit = memory_budget() if budget is None else int(budget)
    if needed > limit:
        fields = _describe(config)
        raise MemoryBudgetError(
            f"{where}model config ({fields}) describes a network of {format_bytes(needed)}, "
            f"over the memory budget of {format_bytes(limit)}; nothing was built "
            f"(set {ENV} to allow more)",
            needed,
            limit,
        )
    return needed


def _describe(config: Any) -> str:
    parts: Mapping[str, Any] = {
        "kind": config.kind,
        "channels": list(config.channels),
        "num_res_blocks": config.num_res_blocks,
        "in_channels": config.in_channels,
        "out_channels": config.out_channels,
    }
    text = ", ".join(f"{k}={v!r}" for k, v in parts.items())
    if config.kind != "unet":
        text += f", codebook_size={config.codebook_size}, codebook_dim={config.codebook_dim}"
    if config.kind == "vqskip":
        text += f", skip_codebook_size={config.skip_codebook_size}"
    return text
