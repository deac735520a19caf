"""One rank of the 2-process gloo test, started by ``torch.multiprocessing.spawn``."""

from __future__ import annotations

import os
from pathlib import Path

import torch

from vqseg_core.checkpoint import save_checkpoint
from vqseg_core.train import loop

from ._synthetic import disc_data, quiet, tiny_config, tiny_model

WORLD_SIZE = 2


def ddp_config(steps: int = 6):
    """A VQ-UNet with k-means init, EMA codes and aggressive dead-code restarts."""
    model = tiny_model(codebook_init="kmeans", ema_decay=0.9, dead_code_threshold=1.0)
    return tiny_config(steps=steps, checkpoint_every=3, val_every=3, batch_size=2, model=model)


def run_rank(rank: int, port: int, root: str) -> None:
    """Train as ``rank`` into ``root/rank{rank}`` and save the final state to ``root/state{rank}.ckpt``.

    Each rank gets its own output folder, so that a file written by rank 1 would show.
    """
    os.environ.update(
        MASTER_ADDR="127.0.0.1",
        MASTER_PORT=str(port),
        WORLD_SIZE=str(WORLD_SIZE),
        RANK=str(rank),
        LOCAL_RANK=str(rank),
    )
    torch.set_num_threads(1)
    models = []
    build = loop.build_model

    def capture(config):
        models.append(build(config))
        return models[-1]

    loop.build_model = capture
    result = loop.train(
        ddp_config(), Path(root) / f"rank{rank}", data=disc_data(), device="cpu", echo=quiet
    )
    save_checkpoint(
        Path(root) / f"state{rank}.ckpt",
        {
            "model": models[0].state_dict(),
            "steps": result.steps_done,
            "weights": None if result.weights is None else str(result.weights),
        },
    )
