"""Two CPU processes (gloo): only rank 0 writes, and every rank ends with the same weights."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest
import torch
import torch.multiprocessing as mp

from vqseg_core.checkpoint import load_checkpoint
from vqseg_core.train.distributed import DistInfo, barrier, broadcast_flag, setup
from vqseg_core.train.loop import CHECKPOINT

from ._ddp_worker import WORLD_SIZE, run_rank
from ._synthetic import log_lines


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_single_process_needs_no_process_group(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    info = setup(torch.device("cpu"))
    assert info == DistInfo() and info.is_main and not info.enabled
    assert broadcast_flag(info, True) and not broadcast_flag(info, False)
    barrier(info)  # a no-op


@pytest.mark.slow
def test_two_gloo_ranks_train_in_sync_and_only_rank0_writes(tmp_path: Path) -> None:
    mp.spawn(run_rank, args=(_free_port(), str(tmp_path)), nprocs=WORLD_SIZE, join=True)

    assert not (tmp_path / "rank1").exists(), sorted((tmp_path / "rank1").rglob("*"))
    out = tmp_path / "rank0"
    for name in (
        "config.yaml",
        "log.jsonl",
        "checkpoints/latest.ckpt",
        "tiny.safetensors",
        "tiny.json",
        "summary.json",
    ):
        assert (out / name).is_file(), name
    assert [r["step"] for r in log_lines(out)] == list(range(1, 7))

    states = [load_checkpoint(tmp_path / f"state{rank}.ckpt") for rank in range(WORLD_SIZE)]
    assert [s["steps"] for s in states] == [6, 6]
    assert states[0]["weights"] is not None and states[1]["weights"] is None
    first, second = states[0]["model"], states[1]["model"]
    assert bool(first["quantizer.initialized"])
    for key in (
        "quantizer.codebook",
        "quantizer.ema_sum",
        "quantizer.ema_count",
        "quantizer.usage",
    ):
        assert torch.equal(first[key], second[key]), key
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    saved = load_checkpoint(out / CHECKPOINT)["model"]  # rank 0's checkpoint is that state
    assert all(torch.equal(saved[k], first[k]) for k in first)
