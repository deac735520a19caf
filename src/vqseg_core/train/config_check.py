"""Checks of a training config's values: types, ranges and names, each error naming the key
and the value.

:func:`check_types` checks the plain values of one section (from YAML or ``--set``) against
its dataclass's field types before anything is built; :func:`require` and friends state a
range. :func:`check_config` checks what only the whole config can say (the data section's
names, labels against the model's classes) and builds the network on the ``meta`` device (no
memory), so a value its constructors refuse fails before any data is read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import fields
from typing import Any

NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
"""A run name: a plain file stem (the export is ``NAME.safetensors``)."""

EXPORT_DTYPES = ("float16", "bfloat16", "float32")


def show(value: Any, limit: int = 60) -> str:
    """``repr(value)``, shortened; never fails (an int too long for ``repr`` is described)."""
    try:
        text = repr(value)
    except ValueError:
        return "an integer with thousands of digits"
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _integer(key: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be an integer, got {show(value)}")
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError(f"{key} must be a whole number, got {show(value)}")
        return int(value)
    return value


def _number(key: str, value: Any) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise ValueError(f"{key} must be a number, got {show(value)}") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ValueError(f"{key} must be a number, got {show(value)}")
    try:
        number = float(value)
    except OverflowError:
        raise ValueError(f"{key} must be a finite number, got {show(value)}") from None
    if not math.isfinite(number):
        raise ValueError(f"{key} must be a finite number, got {show(value)}")
    return number


def _text(key: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{key} must be a text, got {show(value)}")
    return value


def _flag(key: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError(f"{key} must be true or false, got {show(value)}")
    return value


def _sequence(key: str, value: Any, item: Callable[[str, Any], Any]) -> tuple[Any, ...]:
    items = value if isinstance(value, list | tuple) else [value]
    return tuple(item(f"{key}[{i}]", v) for i, v in enumerate(items))


def _mapping(key: str, value: Any, item: Callable[[str, Any], Any]) -> dict[int, Any]:
    if not isinstance(value, Mapping):
        raise ValueError(f"{key} must be a mapping (label value: ...), got {show(value)}")
    out = {}
    for k, v in value.items():
        try:
            label = int(k)
        except (TypeError, ValueError):
            raise ValueError(f"{key} keys must be label values (integers), got {show(k)}") from None
        out[label] = item(f"{key}[{k}]", v)
    return out


_CHECKS: dict[str, Callable[[str, Any], Any]] = {
    "int": _integer,
    "float": _number,
    "str": _text,
    "bool": _flag,
    "tuple[int, ...]": lambda k, v: _sequence(k, v, _integer),
    "tuple[str, ...]": lambda k, v: _sequence(k, v, _text),
    "dict[int, str]": lambda k, v: _mapping(k, v, _text),
    "dict[int, int]": lambda k, v: _mapping(k, v, _integer),
}


def check_types(cls: type, values: Mapping[str, Any], section: str) -> None:
    """Check each plain value of a config section against the field type of ``cls``.

    ``None`` is accepted only where the type allows it; unknown keys are left to the section
    reader (which names them).

    Raises:
        ValueError: naming ``section.key`` and the value.
    """
    hints = {f.name: str(f.type) for f in fields(cls)}  # type: ignore[arg-type]
    for name, value in values.items():
        if name not in hints:
            continue
        key = f"{section}.{name}" if section else name
        hint = hints[name].replace(" ", "")
        optional = hint.endswith("|None")
        base = hint.removesuffix("|None").replace(",", ", ")
        if value is None:
            if not optional:
                raise ValueError(f"{key} needs a value, got null")
            continue
        check = _CHECKS.get(base)
        if check is not None:
            check(key, value)


def require(key: str, value: Any, ok: bool, expected: str) -> None:
    """Raise ``ValueError("KEY must be EXPECTED, got VALUE")`` unless ``ok``."""
    if not ok:
        raise ValueError(f"{key} must be {expected}, got {show(value)}")


def integer_at_least(key: str, value: Any, low: int, high: int | None = None) -> None:
    """``value`` is an int (not a bool) in ``[low, high]``."""
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= low
    ok = ok and (high is None or value <= high)
    span = f"an integer >= {low}" if high is None else f"an integer from {low} to {high}"
    require(key, value, ok, span)


def number_in(
    key: str, value: Any, low: float, high: float, *, low_open: bool = False, high_open=False
) -> None:
    """``value`` is a finite number (not a bool) in the interval from ``low`` to ``high``."""
    ok = isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        ok = (value > low if low_open else value >= low) and (
            value < high if high_open else value <= high
        )
    left, right = "(" if low_open else "[", ")" if high_open else "]"
    require(key, value, ok, f"a number in {left}{low:g}, {high:g}{right}")


def check_data(data: Any, spatial_dims: int) -> None:
    """The ``data`` section's names and ranges (recipe, split, augmentations, fractions)."""
    from vqseg_core.data.preprocess import RECIPES
    from vqseg_core.data.splits import SPLITS
    from vqseg_core.train.augment import AUGMENTATIONS

    require("data.recipe", data.recipe, data.recipe in RECIPES, f"one of {tuple(RECIPES)}")
    require("data.split", data.split, data.split in SPLITS, f"one of {SPLITS}")
    unknown = [a for a in data.augment if a not in AUGMENTATIONS]
    require("data.augment", unknown, not unknown, f"names from {AUGMENTATIONS}")
    number_in("data.val_fraction", data.val_fraction, 0, 1, low_open=True, high_open=True)
    number_in("data.foreground_fraction", data.foreground_fraction, 0, 1)
    integer_at_least("data.split_seed", data.split_seed, 0, 2**32 - 1)
    if data.max_cases is not None:
        integer_at_least("data.max_cases", data.max_cases, 1)
    for name in ("image_size", "patch_size"):
        size = getattr(data, name)
        if size is not None:
            good = all(isinstance(n, int) and 1 <= n <= 65536 for n in size)
            require(f"data.{name}", size, good and len(size) in (2, 3), "2 or 3 sizes in pixels")
    if data.patch_size is not None:
        require(
            "data.patch_size", data.patch_size, len(data.patch_size) == spatial_dims,
            f"{spatial_dims} sizes for model.spatial_dims={spatial_dims}",
        )  # fmt: skip


def check_config(config: Any) -> None:
    """Whole-config checks: the data section, labels against ``model.out_channels``, and the
    network itself (built on the ``meta`` device after the memory-budget check).

    Raises:
        ValueError: naming the key and the value.
    """
    _check_buildable(config.model)
    check_data(config.data, config.model.spatial_dims)
    top = max(config.data.labels, default=0)
    if top >= config.model.out_channels:
        raise ValueError(
            f"model.out_channels must be more than the largest label in data.labels ({top}; "
            f"background 0 is a class too), got {config.model.out_channels}"
        )
    bad = [k for k in config.data.labels if k < 1]
    require("data.labels", bad, not bad, "label values >= 1 (0 is the background)")


def _check_buildable(model: Any) -> None:
    import torch

    from vqseg_core.models.budget import check_model_budget
    from vqseg_core.models.config import build_model

    check_model_budget(model, source="the config")
    try:
        with torch.device("meta"):
            build_model(model)
    except (ValueError, TypeError) as exc:
        raise ValueError(f"model: {exc}") from None
