"""The checkpoint file format, and the one function in the project that unpickles anything.

On disk a checkpoint is a 52-byte header followed by the ``torch.save`` payload::

    offset  size  field
         0     8  magic b"VQSEGCKP"
         8     4  format version, uint32 little-endian (currently 1)
        12     8  payload length in bytes, uint64 little-endian
        20    32  sha256 of the payload bytes
        52     n  payload: torch.save(state) (a zip archive)

Every header field is checked exactly (magic, version, length against the file size) and the
payload's sha256 is compared *before* the payload is handed to the unpickler, which then runs
with ``weights_only=True`` (tensors and primitives only; no code from the file can run).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import os
import struct
from collections.abc import Iterable
from typing import Any

import torch

from vqseg_core.checkpoint.atomic import atomic_write_bytes
from vqseg_core.checkpoint.content import check_content
from vqseg_core.checkpoint.errors import CheckpointError, UnsupportedValueError
from vqseg_core.checkpoint.files import read_regular_file

MAGIC = b"VQSEGCKP"
FORMAT_VERSION = 1
HEADER = struct.Struct("<8sIQ32s")
HEADER_SIZE = HEADER.size  # 52

MapLocation = str | torch.device | dict[str, str] | None


def pack_checkpoint(payload: bytes) -> bytes:
    """Wrap serialised ``payload`` bytes in the header (magic, version, length, sha256)."""
    return (
        HEADER.pack(MAGIC, FORMAT_VERSION, len(payload), hashlib.sha256(payload).digest()) + payload
    )


def unpack_checkpoint(data: bytes, path: str | os.PathLike[str]) -> bytes:
    """Check the header and the sha256 of ``data`` (a whole file) and return the verified payload.

    Raises:
        CheckpointError: empty, truncated, too long, bad magic, unknown version, sha256 mismatch.
    """
    if not data:
        raise CheckpointError(path, "empty file (0 bytes)")
    if len(data) < HEADER_SIZE:
        if not MAGIC.startswith(data[: len(MAGIC)]):
            raise CheckpointError(path, "not a vqseg checkpoint (bad magic)")
        raise CheckpointError(
            path, f"truncated: {len(data)} bytes, shorter than the {HEADER_SIZE}-byte header"
        )
    magic, version, length, digest = HEADER.unpack_from(data)
    if magic != MAGIC:
        hint = " (looks like a plain torch.save file)" if data[:2] == b"PK" else ""
        raise CheckpointError(path, f"not a vqseg checkpoint (bad magic {magic!r}){hint}")
    if version != FORMAT_VERSION:
        raise CheckpointError(
            path, f"unsupported format version {version} (this version reads {FORMAT_VERSION})"
        )
    found = len(data) - HEADER_SIZE
    if found < length:
        raise CheckpointError(path, f"truncated: payload has {found} of {length} bytes")
    if found > length:
        raise CheckpointError(path, f"{found - length} unexpected bytes after the payload")
    payload = data[HEADER_SIZE:]
    if not hmac.compare_digest(hashlib.sha256(payload).digest(), digest):
        raise CheckpointError(path, "sha256 mismatch: the file is corrupt")
    return payload


def save_checkpoint(path: str | os.PathLike[str], state: dict[str, Any]) -> str:
    """Save ``state`` atomically; return the sha256 (hex) recorded in the header.

    ``state`` is validated first (tensors and primitives only, see :func:`check_content`); use
    ``ModelConfig.to_dict()`` for configs. The file is
    written to a temporary file in the same folder, flushed, fsynced, moved onto ``path`` with
    ``os.replace`` and the folder is fsynced: a kill at any moment leaves ``path`` holding the
    previous checkpoint or the new one, never a mixture.

    Memory: the serialised checkpoint is built in memory (about one extra copy of the tensors).

    Args:
        path: the target file (conventionally ``*.ckpt``); its folder must exist.
        state: the dict to save, e.g. ``{"model": ..., "optimizer": ..., "rng": ..., "step": 3}``.

    Returns:
        The sha256 hex digest of the payload (the bytes after the 52-byte header).

    Raises:
        UnsupportedValueError: (a ``CheckpointError`` and a ``TypeError``) naming the key path
            of a value that cannot be saved; nothing is written.
        OSError: the file could not be written; ``path`` is left as it was.
    """
    check_content(state, path)
    buffer = io.BytesIO()
    torch.save(state, buffer)
    payload = buffer.getvalue()
    atomic_write_bytes(path, pack_checkpoint(payload))
    return hashlib.sha256(payload).hexdigest()


def load_checkpoint(
    path: str | os.PathLike[str],
    *,
    expected_keys: Iterable[str] | None = None,
    map_location: MapLocation = "cpu",
) -> dict[str, Any]:
    """Load a checkpoint written by :func:`save_checkpoint`, trusting nothing in it.

    The file is read once; its header and sha256 are checked before anything is unpickled, and
    the payload is unpickled with ``weights_only=True`` (a crafted payload is refused, not run).

    Args:
        path: the checkpoint file.
        expected_keys: if given, the exact set of top-level keys the checkpoint must have.
        map_location: where tensors go (default ``"cpu"``), as for ``torch.load``.

    Returns:
        The saved dict (tensors equal to the saved ones).

    Raises:
        CheckpointError: naming the file and the cause, for a missing, unreadable, empty,
            truncated or corrupt file, a path that is not a regular file (a FIFO, a device,
            a folder; never opened for reading), a file over the memory budget, bad magic, an unknown format version, a payload the safe
            unpickler refuses, content that is not tensors and primitives, or (with
            ``expected_keys``) missing or unexpected keys, listed.
    """
    # a regular file only (a FIFO would block, /dev/zero would never end), read by its size
    data = read_regular_file(path, what="checkpoint")
    payload = unpack_checkpoint(data, path)
    try:
        state = safe_torch_load(payload, map_location)
    except Exception as exc:  # UnpicklingError, RuntimeError, EOFError, ...: all the same to callers
        raise CheckpointError(
            path, f"payload refused by the safe unpickler ({type(exc).__name__}: {exc})"
        ) from exc
    try:
        check_content(state, path)
    except UnsupportedValueError as exc:
        raise CheckpointError(path, exc.cause) from exc
    if expected_keys is not None:
        expected = set(expected_keys)
        missing = sorted(expected - set(state), key=str)
        unexpected = sorted(set(state) - expected, key=str)
        if missing or unexpected:
            raise CheckpointError(
                path, f"unexpected checkpoint keys: missing {missing}, unexpected {unexpected}"
            )
    return state


def safe_torch_load(data: bytes, map_location: MapLocation = "cpu") -> Any:
    """Unpickle torch-saved bytes with ``weights_only=True`` (tensors and primitives only: a
    crafted payload is refused, never run). The project's one ``torch.load`` call (a test
    checks it); callers read the bytes themselves, bounded (:func:`read_regular_file`)."""
    return torch.load(io.BytesIO(data), map_location=map_location, weights_only=True)
