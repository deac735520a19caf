"""DistributedDataParallel through PyTorch's own engine (``torchrun``).

``torchrun --nproc-per-node N -m vqseg_core.train CONFIG ...`` sets ``WORLD_SIZE``, ``RANK`` and
``LOCAL_RANK``; :func:`setup` then starts a process group (nccl on GPU, gloo on CPU) through
:func:`vqseg_core.distributed.setup`, the setup evaluation shares. Only rank 0 writes files. The
quantiser keeps its codebook state (EMA sums, k-means init, restarts) in sync itself through
collective calls (see :mod:`vqseg_core.models.quantizer`).
"""

from __future__ import annotations

import torch
from torch import distributed as dist

from vqseg_core import distributed as _shared
from vqseg_core.distributed import DistInfo, barrier

__all__ = ["DistInfo", "barrier", "broadcast_flag", "setup", "teardown"]


def setup(device: torch.device) -> DistInfo:
    """Start the process group when launched by ``torchrun`` with more than one process."""
    return _shared.setup("nccl" if device.type == "cuda" else "gloo")


def teardown(info: DistInfo) -> None:
    """Destroy the process group started by :func:`setup`."""
    _shared.teardown(info)


def broadcast_flag(info: DistInfo, flag: bool) -> bool:
    """Rank 0's boolean, on every rank."""
    if not info.enabled:
        return flag
    t = torch.tensor([1 if flag else 0])
    dist.broadcast(t, src=0)
    return bool(t.item())
