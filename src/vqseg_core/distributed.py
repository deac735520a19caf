"""Where this process stands under ``torchrun``: the one ``torch.distributed`` setup.

``torchrun --nproc-per-node N ...`` sets ``WORLD_SIZE``, ``RANK`` and ``LOCAL_RANK``;
:func:`setup` joins the process group when there is more than one process, and reports this
process's :class:`DistInfo` (a single process needs no group: ``DistInfo()``). Training
(:mod:`vqseg_core.train.distributed`: DDP, nccl on GPU) and evaluation
(:mod:`vqseg_core.evaluation.sharding`: cells sharded by case, gloo) both start here. Only
rank 0 writes files. ``torch`` is imported when a group is actually needed.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


@dataclass(frozen=True)
class DistInfo:
    """Where this process stands in a (possibly single-process) run."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def is_main(self) -> bool:
        """True on the process that writes files (rank 0)."""
        return self.rank == 0

    @property
    def enabled(self) -> bool:
        """True when running under a multi-process group."""
        return self.world_size > 1


def setup(backend: str = "gloo") -> DistInfo:
    """Join the ``torchrun`` process group (``backend``) when ``WORLD_SIZE`` > 1.

    A group already started in this process is joined as it is.
    """
    world = int(os.environ.get("WORLD_SIZE", "1"))
    if world <= 1:
        return DistInfo()
    from torch import distributed as dist

    if not dist.is_initialized():
        dist.init_process_group(backend=backend)
    return DistInfo(
        rank=dist.get_rank(),
        world_size=dist.get_world_size(),
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )


def teardown(info: DistInfo, *, wait: bool = False) -> None:
    """Leave the process group started by :func:`setup` (after a last barrier when ``wait``)."""
    if not info.enabled:
        return
    from torch import distributed as dist

    if dist.is_initialized():
        if wait:
            dist.barrier()
        dist.destroy_process_group()


def barrier(info: DistInfo) -> None:
    """Wait for every rank (no-op in a single process)."""
    if info.enabled:
        from torch import distributed as dist

        dist.barrier()
