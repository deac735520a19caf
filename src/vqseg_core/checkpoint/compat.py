"""Does a checkpoint fit the model and the run it is loaded into?"""

from __future__ import annotations

import os
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

import torch
from torch import nn

from vqseg_core.checkpoint.errors import CheckpointError, ConfigMismatchError

_MISSING = object()


def load_state_dict_strict(
    model: nn.Module, state_dict: Mapping[str, Any], path: str | os.PathLike[str] | None = None
) -> nn.Module:
    """Load ``state_dict`` into ``model`` only if names and shapes match exactly.

    Args:
        model: the module to fill (parameters and persistent buffers).
        state_dict: e.g. ``load_checkpoint(path)["model"]`` or the first result of ``load_weights``.
        path: the file it came from, for the message.

    Returns:
        ``model``, loaded.

    Raises:
        CheckpointError: listing every missing key, unexpected key and shape mismatch
            (``name: expected (8, 1, 3, 3), found (8, 2, 3, 3)``); ``model`` is left unchanged.
    """
    expected = model.state_dict()
    missing = [k for k in expected if k not in state_dict]
    unexpected = [k for k in state_dict if k not in expected]
    mismatched = []
    for key, want in expected.items():
        if key not in state_dict:
            continue
        found = state_dict[key]
        if not isinstance(found, torch.Tensor):
            mismatched.append(
                f"{key}: expected a tensor of shape {tuple(want.shape)}, found "
                f"{type(found).__name__}"
            )
        elif found.shape != want.shape:
            mismatched.append(f"{key}: expected {tuple(want.shape)}, found {tuple(found.shape)}")
    if missing or unexpected or mismatched:
        parts = []
        if missing:
            parts.append(f"missing keys {missing}")
        if unexpected:
            parts.append(f"unexpected keys {unexpected}")
        if mismatched:
            parts.append("shape mismatches [" + "; ".join(mismatched) + "]")
        raise CheckpointError(
            path, f"state dict does not fit {type(model).__name__}: " + ", ".join(parts)
        )
    try:
        model.load_state_dict(dict(state_dict), strict=True)
    except RuntimeError as exc:  # e.g. a dtype that cannot be copied
        raise CheckpointError(path, f"state dict does not load: {exc}") from exc
    return model


def check_config_compatible(
    saved: Mapping[str, Any],
    current: Mapping[str, Any],
    *,
    allow_change: bool = False,
    sections: Sequence[str] = ("model", "data"),
    path: str | os.PathLike[str] | None = None,
) -> list[tuple[str, Any, Any]]:
    """Refuse to resume a run whose model or data config differs from the saved one.

    Sections are compared key by key (nested dicts as dotted keys); tuples and lists with equal
    items compare equal, since configs round-trip through JSON. Keys outside ``sections`` (e.g.
    the number of epochs) may change freely.

    Args:
        saved: the config stored in the checkpoint, e.g. ``{"model": {...}, "data": {...}}``.
        current: the config of the run being started.
        allow_change: if ``True``, differences only raise a ``UserWarning``.
        sections: the top-level keys that must not change.
        path: the checkpoint file, for the message.

    Returns:
        ``(dotted key, saved value, current value)`` for each difference (empty when compatible).

    Raises:
        ConfigMismatchError: listing the differing keys, unless ``allow_change``.
    """
    differences: list[tuple[str, Any, Any]] = []
    for section in sections:
        _diff(saved.get(section, _MISSING), current.get(section, _MISSING), section, differences)
    if differences:
        listing = "; ".join(
            f"{key}: saved {_show(old)}, current {_show(new)}" for key, old, new in differences
        )
        if not allow_change:
            raise ConfigMismatchError(
                path,
                f"config differs from the checkpoint's ({listing}); pass allow_change=True to "
                "resume anyway",
                _public(differences),
            )
        warnings.warn(f"resuming with a changed config: {listing}", UserWarning, stacklevel=2)
    return _public(differences)


def _show(value: Any) -> str:
    return "<absent>" if value is _MISSING else repr(value)


def _diff(old: Any, new: Any, where: str, out: list[tuple[str, Any, Any]]) -> None:
    if isinstance(old, Mapping) and isinstance(new, Mapping):
        for key in sorted(set(old) | set(new), key=str):
            _diff(old.get(key, _MISSING), new.get(key, _MISSING), f"{where}.{key}", out)
    elif _normalise(old) != _normalise(new):
        out.append((where, old, new))


def _public(differences: list[tuple[str, Any, Any]]) -> list[tuple[str, Any, Any]]:
    return [
        (k, None if a is _MISSING else a, None if b is _MISSING else b) for k, a, b in differences
    ]


def _normalise(value: Any) -> Any:
    if isinstance(value, list | tuple):
        return [_normalise(v) for v in value]
    if isinstance(value, Mapping):
        return {k: _normalise(v) for k, v in value.items()}
    return value
