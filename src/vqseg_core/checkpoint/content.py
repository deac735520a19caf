"""What a checkpoint may hold: tensors and primitives, nothing that needs code to rebuild."""

from __future__ import annotations

import os
from collections import OrderedDict

import torch
from torch import nn

from vqseg_core.checkpoint.errors import UnsupportedValueError

PRIMITIVES: tuple[type, ...] = (str, int, float, bool, type(None))
CONTAINERS: tuple[type, ...] = (dict, OrderedDict, list, tuple)
TENSORS: tuple[type, ...] = (torch.Tensor, nn.Parameter)


def _describe(value: object) -> str:
    kind = type(value)
    return f"{kind.__module__}.{kind.__qualname__}"


def check_content(state: object, path: str | os.PathLike[str] | None = None) -> None:
    """Raise :class:`UnsupportedValueError` unless ``state`` is a dict of tensors and primitives.

    Allowed: ``torch.Tensor`` (and ``nn.Parameter``); exactly ``str``, ``int``, ``float``,
    ``bool`` and ``None`` (so numpy scalars, which subclass ``float``, are refused); and ``dict``,
    ``OrderedDict``, ``list`` and ``tuple`` of those, with primitive dict keys. Types are matched
    exactly, not by ``isinstance``, because subclasses (numpy scalars, enums, named tuples) need
    code to rebuild and do not load under ``weights_only=True``.

    Args:
        state: the object about to be saved (or just loaded).
        path: the file, for the message.

    Raises:
        UnsupportedValueError: naming the key path, e.g. ``state['optimizer']['lr']``, and the type.
    """
    if type(state) not in (dict, OrderedDict):
        raise UnsupportedValueError(path, f"a checkpoint must be a dict, got {_describe(state)}")
    _check(state, "state", path, set())


def _check(value: object, where: str, path: str | os.PathLike[str] | None, seen: set[int]) -> None:
    kind = type(value)
    if kind in PRIMITIVES or kind in TENSORS:
        return
    if kind not in CONTAINERS:
        raise UnsupportedValueError(
            path,
            f"{where} is a {_describe(value)}; only tensors, str/int/float/bool/None and "
            "dict/list/tuple of those can be saved (convert numpy values with torch.as_tensor "
            "or .item())",
        )
    if id(value) in seen:
        raise UnsupportedValueError(path, f"{where} contains itself (reference cycle)")
    seen.add(id(value))
    if isinstance(value, dict):
        for key, item in value.items():
            if type(key) not in PRIMITIVES:
                raise UnsupportedValueError(
                    path, f"{where} has a key of type {_describe(key)}; keys must be primitives"
                )
            _check(item, f"{where}[{key!r}]", path, seen)
    else:
        for i, item in enumerate(value):  # type: ignore[attr-defined]
            _check(item, f"{where}[{i}]", path, seen)
    seen.discard(id(value))
