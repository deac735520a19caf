"""Released weights: a safetensors file plus a JSON config, both checked on load.

``export_weights(model, config, out_dir, "vqunet_prostate")`` writes::

    vqunet_prostate.safetensors   every parameter and persistent buffer (e.g. the VQ
                                  ``initialized`` and ``usage`` buffers), no pickle
    vqunet_prostate.json          {"format": "vqseg-weights", "format_version": 1,
                                   "name", "weights_file", "sha256", "size_bytes",
                                   "tensor_count", "dtype", "torch_version",
                                   "safetensors_version", "config": {...}}

The config is also embedded in the safetensors metadata (``vqseg_config``), so it is covered by
the sha256 as well; :func:`load_weights` refuses a JSON whose config disagrees with it.

Precision: with ``dtype=torch.float16`` floating tensors are rounded to half precision (11-bit
significand: relative error up to about 4.9e-4; range +-65504; values below about 6e-8 flush to
zero). :func:`load_weights` always returns float32 tensors, holding exactly the half-precision
values, so outputs differ slightly from those of the float32 model. Integer and bool buffers are
never cast. An export that would overflow to +-inf is refused.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
from pathlib import Path
from typing import Any

import safetensors
import safetensors.torch
import torch
from safetensors.torch import load as load_safetensors_bytes
from torch import nn

from vqseg_core.checkpoint import CheckpointError, atomic_write_bytes
from vqseg_core.checkpoint.files import read_regular_file

WEIGHTS_FORMAT = "vqseg-weights"
WEIGHTS_FORMAT_VERSION = 1
EXPORT_DTYPES = (torch.float16, torch.bfloat16, torch.float32)
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")
_SHA256 = re.compile(r"[0-9a-f]{64}")
MAX_JSON_BYTES = 16 * 2**20
"""A weights JSON larger than this (16 MiB) is refused unread: it holds a config, not data."""


def export_weights(
    model: nn.Module,
    config: dict[str, Any],
    out_dir: str | os.PathLike[str],
    name: str,
    *,
    dtype: torch.dtype | None = None,
) -> tuple[Path, Path]:
    """Write ``NAME.safetensors`` and ``NAME.json`` for ``model`` into ``out_dir``.

    Both files are written atomically (weights first, then the JSON that vouches for them).

    Args:
        model: the network; its ``state_dict()`` (parameters and persistent buffers) is exported.
        config: a JSON-able dict describing it, e.g. ``{"model": ModelConfig(...).to_dict()}``.
        out_dir: the folder (created if needed).
        name: the file stem: letters, digits, ``.``, ``_`` and ``-``, not starting with ``.``.
        dtype: ``None`` (keep the tensors' dtypes, exact), ``torch.float16`` (half the size,
            see the precision note in the module docstring), ``torch.bfloat16`` or
            ``torch.float32``; applies to floating tensors only.

    Returns:
        ``(weights_path, json_path)``.

    Raises:
        ValueError: a bad ``name`` or ``dtype``, or a value that overflows in ``dtype``.
        TypeError: ``config`` is not a JSON-able dict.
    """
    if not isinstance(name, str) or not _NAME.fullmatch(name):
        raise ValueError(f"name must match {_NAME.pattern} (a plain file stem), got {name!r}")
    if dtype is not None and dtype not in EXPORT_DTYPES:
        raise ValueError(f"dtype must be None or one of {EXPORT_DTYPES}, got {dtype!r}")
    if not isinstance(config, dict):
        raise TypeError(f"config must be a dict, got {type(config).__name__}")
    try:
        config_json = json.dumps(config, sort_keys=True, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"config is not JSON-able: {exc}") from exc

    tensors: dict[str, torch.Tensor] = {}
    for key, value in model.state_dict().items():
        tensor = value.detach().to("cpu")
        if dtype is not None and tensor.is_floating_point():
            cast = tensor.to(dtype)
            if bool((torch.isfinite(tensor) & ~torch.isfinite(cast)).any()):
                raise ValueError(f"{key} has values that overflow in {dtype}; export it in float32")
            tensor = cast
        tensors[key] = tensor.contiguous().clone()
    data = safetensors.torch.save(tensors, metadata={"format": "pt", "vqseg_config": config_json})
    floating = sorted(
        {str(t.dtype).removeprefix("torch.") for t in tensors.values() if t.is_floating_point()}
    )

    folder = Path(out_dir)
    folder.mkdir(parents=True, exist_ok=True)
    weights_path = folder / f"{name}.safetensors"
    json_path = folder / f"{name}.json"
    meta = {
        "format": WEIGHTS_FORMAT,
        "format_version": WEIGHTS_FORMAT_VERSION,
        "name": name,
        "weights_file": weights_path.name,
        "sha256": hashlib.sha256(data).hexdigest(),
        "size_bytes": len(data),
        "tensor_count": len(tensors),
        "dtype": floating[0] if len(floating) == 1 else floating,
        "torch_version": torch.__version__,
        "safetensors_version": safetensors.__version__,
        "config": config,
    }
    atomic_write_bytes(weights_path, data)
    atomic_write_bytes(json_path, (json.dumps(meta, indent=2, allow_nan=False) + "\n").encode())
    return weights_path, json_path


def load_weights(path: str | os.PathLike[str]) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """Load weights written by :func:`export_weights`, after checking their sha256.

    Args:
        path: ``NAME.json`` or ``NAME.safetensors`` (the other file is found next to it).

    Returns:
        ``(state_dict, config)``: floating tensors as float32 (integer and bool buffers keep
        their dtype), and the config dict given at export.

    Raises:
        CheckpointError: naming the file and the cause, for a missing file, a path that is
            not a regular file (a FIFO, a device: refused unread), malformed or incomplete
            JSON, a size or sha256 mismatch (truncation, corruption; the size is checked
            before reading), an unreadable safetensors file, or a tensor count or config that
            disagrees with the JSON.
    """
    state, meta = read_weights(path)
    return state, meta["config"]


def read_weights_meta(path: str | os.PathLike[str]) -> tuple[Path, dict[str, Any]]:
    """``(json path, checked JSON)`` of weights, without reading the weights file.

    Lets a caller check the config (e.g. its memory budget) before the weights are read.

    Raises:
        CheckpointError: as :func:`load_weights`, for the JSON.
    """
    given = Path(path)
    if given.suffix not in (".json", ".safetensors"):
        raise CheckpointError(given, "expected a .json or .safetensors file")
    json_path = given.with_suffix(".json")
    return json_path, _read_meta(json_path)


def read_weights(
    path: str | os.PathLike[str],
) -> tuple[dict[str, torch.Tensor], dict[str, Any]]:
    """:func:`load_weights`, returning the whole checked JSON (``sha256``, ``config``, ...)
    instead of the config alone: ``(state_dict, meta)``."""
    given = Path(path)
    json_path, meta = read_weights_meta(given)
    weights_path = json_path.parent / meta["weights_file"]
    if given.suffix == ".safetensors" and given.name != weights_path.name:
        raise CheckpointError(
            given, f"{json_path.name} describes {weights_path.name}, not this file"
        )
    # a regular file only (a FIFO would block), no bigger than the JSON says (nor the budget)
    data = read_regular_file(
        weights_path, what="weights file", expect_size=(meta["size_bytes"], json_path.name)
    )
    if len(data) != meta["size_bytes"]:
        kind = "truncated" if len(data) < meta["size_bytes"] else "too long"
        raise CheckpointError(
            weights_path, f"{kind}: {len(data)} bytes, {json_path.name} says {meta['size_bytes']}"
        )
    if not hmac.compare_digest(hashlib.sha256(data).hexdigest(), meta["sha256"]):
        raise CheckpointError(
            weights_path, f"sha256 mismatch with {json_path.name}: file is corrupt"
        )
    try:  # the bytes just verified, not a second read of the file
        tensors = load_safetensors_bytes(data)
        header_len = int.from_bytes(data[:8], "little")
        header = json.loads(data[8 : 8 + header_len])
    except Exception as exc:
        raise CheckpointError(weights_path, f"not a readable safetensors file ({exc})") from exc
    if len(tensors) != meta["tensor_count"]:
        raise CheckpointError(
            weights_path, f"{len(tensors)} tensors, {json_path.name} says {meta['tensor_count']}"
        )
    saved_config = header.get("__metadata__", {}).get("vqseg_config")
    if saved_config is None or json.loads(saved_config) != meta["config"]:
        raise CheckpointError(json_path, "config differs from the one embedded in the weights")
    state = {k: v.float() if v.is_floating_point() else v for k, v in tensors.items()}
    return state, meta


def _read_meta(json_path: Path) -> dict[str, Any]:
    try:
        raw = read_regular_file(json_path, max_bytes=MAX_JSON_BYTES, what="weights JSON")
    except CheckpointError as exc:
        if exc.cause == "file not found":
            raise CheckpointError(
                json_path, "file not found (the JSON next to the weights)"
            ) from None
        raise
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise CheckpointError(json_path, f"cannot read file: {exc}") from exc
    try:
        meta = json.loads(text)
    except ValueError as exc:  # JSONDecodeError, or an integer of thousands of digits
        raise CheckpointError(json_path, f"malformed JSON: {exc}") from exc
    checks = {
        "format": lambda v: v == WEIGHTS_FORMAT,
        "format_version": lambda v: v == WEIGHTS_FORMAT_VERSION,
        "weights_file": lambda v: isinstance(v, str) and _NAME.fullmatch(v) is not None,
        "sha256": lambda v: isinstance(v, str) and _SHA256.fullmatch(v) is not None,
        "size_bytes": lambda v: type(v) is int and v >= 0,
        "tensor_count": lambda v: type(v) is int and v >= 0,
        "config": lambda v: isinstance(v, dict),
    }
    if not isinstance(meta, dict):
        raise CheckpointError(json_path, "malformed JSON: expected an object")
    bad = [key for key, ok in checks.items() if key not in meta or not ok(meta[key])]
    if bad:
        raise CheckpointError(
            json_path,
            f"not a {WEIGHTS_FORMAT} v{WEIGHTS_FORMAT_VERSION} file: bad or missing {bad}",
        )
    return meta
