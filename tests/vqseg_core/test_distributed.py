"""The one torch.distributed setup shared by training and evaluation."""

from __future__ import annotations

import json
import os
import socket
from pathlib import Path

import pytest

from vqseg_core.distributed import DistInfo, barrier, setup, teardown


def test_a_single_process_needs_no_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = setup()
    assert info == DistInfo() and info.is_main and not info.enabled
    barrier(info)  # no-ops
    teardown(info, wait=True)
    monkeypatch.setenv("WORLD_SIZE", "1")
    assert setup("nccl") == DistInfo()


def test_training_and_evaluation_use_it() -> None:
    from vqseg_core.evaluation import sharding
    from vqseg_core.train import distributed as train_distributed

    assert sharding.Shard is DistInfo and train_distributed.DistInfo is DistInfo
    assert sharding.Shard(rank=1, world_size=2).enabled and not sharding.Shard(1, 2).is_main


def _rank(rank: int, port: int, root: str) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE="2",
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    info = setup("gloo")
    again = setup("gloo")  # a started group is joined as it is
    barrier(info)
    teardown(info, wait=True)
    from torch import distributed as dist

    record = {**info.__dict__, "same": again == info, "left": not dist.is_initialized()}
    Path(root, f"rank{rank}.json").write_text(json.dumps(record), encoding="utf-8")


@pytest.mark.slow
def test_two_gloo_processes_find_their_ranks(tmp_path: Path) -> None:
    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_rank, args=(port, str(tmp_path)), nprocs=2, join=True)
    records = [json.loads((tmp_path / f"rank{r}.json").read_text()) for r in range(2)]
    assert records == [
        {"rank": r, "world_size": 2, "local_rank": r, "same": True, "left": True} for r in range(2)
    ]
