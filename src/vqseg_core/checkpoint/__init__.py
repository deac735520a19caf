"""Checkpoints you can trust: the one save/load path of the project.

* :func:`save_checkpoint` / :func:`load_checkpoint`: tensors and primitives only, written
  atomically, sha256-checked before anything is unpickled, unpickled with ``weights_only=True``.
* :func:`load_state_dict_strict`, :func:`check_config_compatible`: does it fit this model / run?
* Every problem is a :class:`CheckpointError` naming the file and the cause.

Released weights (safetensors + JSON) live in :mod:`vqseg_core.weights`.
"""

from vqseg_core.checkpoint.atomic import atomic_write_bytes
from vqseg_core.checkpoint.compat import check_config_compatible, load_state_dict_strict
from vqseg_core.checkpoint.container import (
    FORMAT_VERSION,
    HEADER_SIZE,
    MAGIC,
    load_checkpoint,
    save_checkpoint,
)
from vqseg_core.checkpoint.content import check_content
from vqseg_core.checkpoint.errors import CheckpointError, ConfigMismatchError, UnsupportedValueError

__all__ = [
    "FORMAT_VERSION",
    "HEADER_SIZE",
    "MAGIC",
    "CheckpointError",
    "ConfigMismatchError",
    "UnsupportedValueError",
    "atomic_write_bytes",
    "check_config_compatible",
    "check_content",
    "load_checkpoint",
    "load_state_dict_strict",
    "save_checkpoint",
]
