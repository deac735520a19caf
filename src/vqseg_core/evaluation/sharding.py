"""Cases sharded across ``torchrun`` processes; rank 0 gathers and stores every result.

Under ``torchrun --nproc-per-node N`` (``WORLD_SIZE`` > 1) a process group is started by
:func:`vqseg_core.distributed.setup`, the setup training shares (gloo: only Python objects
travel, nccl is not needed). Cells are assigned to ranks by case (case ``i`` of the sorted todo
list to rank ``i % N``), so one case is loaded by one process. After each step every rank shares
its finished cell (or nothing, or its error) with the others and rank 0 appends it to the store:
the stored results do not depend on the number of processes.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from vqseg_core import distributed
from vqseg_core.distributed import DistInfo
from vqseg_core.evaluation.store import CellStore

Shard = DistInfo  # this process's place in a (possibly single-process) run
ONE_PROCESS = Shard()


def setup_shard() -> Shard:
    """Join the ``torchrun`` process group (gloo) when ``WORLD_SIZE`` > 1, and give each of the
    processes on this machine its share of the free cores
    (:func:`vqseg_core.threads.apply_job_threads`; torchrun's default is 1 thread each)."""
    shard = distributed.setup("gloo")
    if shard.enabled:
        from vqseg_core.threads import apply_job_threads

        apply_job_threads()
    return shard


def teardown_shard(shard: Shard) -> None:
    """Leave the process group started by :func:`setup_shard` (after a last barrier)."""
    distributed.teardown(shard, wait=True)


def barrier(shard: Shard) -> None:
    """Wait for every rank (no-op in one process)."""
    distributed.barrier(shard)


def broadcast(shard: Shard, value: Any) -> Any:
    """Rank 0's ``value`` on every rank."""
    if not shard.enabled:
        return value
    from torch import distributed as dist

    box = [value]
    dist.broadcast_object_list(box, src=0)
    return box[0]


@dataclass(frozen=True)
class Cell:
    """One unit of work.

    Attributes:
        key: its :func:`~vqseg_core.evaluation.store.cell_key`.
        case_id: the case it belongs to (the unit of sharding).
        params: whatever the compute function needs.
    """

    key: str
    case_id: str
    params: Any


def run_cells(
    cells: Sequence[Cell],
    compute: Callable[[Cell], list[dict[str, Any]]],
    store: CellStore,
    shard: Shard = ONE_PROCESS,
    *,
    progress: bool = True,
    desc: str = "cells",
) -> int:
    """Compute every cell not yet in ``store``, sharded by case, and store the results.

    Args:
        cells: all cells of the run (those already stored are skipped).
        compute: maps a cell to its records (JSON-able dicts).
        store: the results; only rank 0 writes to it.
        shard: from :func:`setup_shard`.
        progress: show a tqdm bar on rank 0.
        desc: the bar's label.

    Returns:
        The number of cells computed in this call (all ranks together).
    """
    todo = [c for c in cells if c.key not in store]
    barrier(shard)  # every rank has read the store before rank 0 appends to it
    order = list(dict.fromkeys(c.case_id for c in todo))
    owner = {case: i % shard.world_size for i, case in enumerate(order)}
    per_rank = [[c for c in todo if owner[c.case_id] == r] for r in range(shard.world_size)]
    mine = per_rank[shard.rank]
    steps = max((len(p) for p in per_rank), default=0)
    bar = None
    if progress and shard.is_main and todo:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(todo), desc=desc, unit="cell")
    try:
        for step in range(steps):
            result: tuple[str, list[dict[str, Any]] | None, str | None] | None = None
            if step < len(mine):
                cell = mine[step]
                try:
                    result = (cell.key, compute(cell), None)
                except Exception as exc:
                    if not shard.enabled:
                        raise
                    result = (cell.key, None, f"{type(exc).__name__}: {exc}")
            gathered = _all_gather(shard, result)
            errors = [item[2] for item in gathered if item is not None and item[2] is not None]
            if errors:
                raise RuntimeError(f"a rank failed: {errors[0]}")
            if shard.is_main:
                for item in gathered:
                    if item is not None:
                        store.add(item[0], item[1])
                if bar is not None:
                    bar.update(sum(item is not None for item in gathered))
    finally:
        if bar is not None:
            bar.close()
    barrier(shard)
    return len(todo)


def _all_gather(shard: Shard, item: Any) -> list[Any]:
    if not shard.enabled:
        return [item]
    from torch import distributed as dist

    out: list[Any] = [None] * shard.world_size
    dist.all_gather_object(out, item)
    return out
