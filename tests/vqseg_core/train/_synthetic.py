"""Tiny synthetic training data (discs and balls) and a tiny training config, built deterministically."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.models.config import ModelConfig
from vqseg_core.train.config import (
    DataConfig,
    LoggingConfig,
    OptimConfig,
    ScheduleConfig,
    TrainConfig,
)
from vqseg_core.train.data import Sample

TRAIN_FIELDS = (
    "step",
    "loss",
    "seg_loss",
    "lr",
    "vq_loss",
    "codebook_loss",
    "commitment_loss",
    "used_codes",
    "perplexity",
)


def disc_sample(case_id: str, size: int, seed: int, spatial_dims: int = 2) -> Sample:
    """One bright disc (2D) or ball (3D) on a noisy background; label 1 inside."""
    rng = np.random.default_rng(seed)
    shape = (size,) * spatial_dims
    centre = rng.uniform(size * 0.3, size * 0.7, size=spatial_dims)
    radius = rng.uniform(size * 0.15, size * 0.3)
    grid = np.stack(np.meshgrid(*[np.arange(n) for n in shape], indexing="ij"))
    dist = np.sqrt(((grid - centre.reshape(-1, *[1] * spatial_dims)) ** 2).sum(0))
    label = (dist <= radius).astype(np.int64)
    image = label.astype(np.float32) + rng.normal(0.0, 0.2, size=shape).astype(np.float32)
    return Sample(
        image=image[None].astype(np.float32),
        label=label,
        case_id=case_id,
        spacing=(1.0,) * spatial_dims,
    )


def disc_samples(n: int, size: int = 32, seed: int = 0, spatial_dims: int = 2) -> list[Sample]:
    """``n`` disc cases, a pure function of the arguments."""
    return [disc_sample(f"case{i:03d}", size, seed * 1000 + i, spatial_dims) for i in range(n)]


def disc_data(
    n_train: int = 6, n_val: int = 2, size: int = 32, spatial_dims: int = 2
) -> tuple[list[Sample], list[Sample]]:
    """``(train, validation)`` disc cases."""
    return (
        disc_samples(n_train, size, seed=1, spatial_dims=spatial_dims),
        disc_samples(n_val, size, seed=2, spatial_dims=spatial_dims),
    )


def tiny_model(**changes: Any) -> ModelConfig:
    """A VQ-UNet small enough to train for tens of steps in a second or two on a CPU."""
    base: dict[str, Any] = dict(
        kind="vqunet",
        spatial_dims=2,
        channels=(8, 16),
        norm_groups=4,
        codebook_size=16,
        codebook_dim=8,
    )
    return ModelConfig(**{**base, **changes})


def tiny_config(
    steps: int = 20,
    *,
    checkpoint_every: int = 5,
    val_every: int = 10,
    batch_size: int = 4,
    lr: float = 3e-3,
    seed: int = 0,
    model: ModelConfig | None = None,
    **data: Any,
) -> TrainConfig:
    """A tiny fp32 run on in-memory discs: no progress bar, no time-based checkpoints."""
    return TrainConfig(
        model=model or tiny_model(),
        data=DataConfig(dataset="synthetic", **data),
        optim=OptimConfig(lr=lr, batch_size=batch_size),
        schedule=ScheduleConfig(
            steps=steps,
            val_every=val_every,
            checkpoint_every=checkpoint_every,
            checkpoint_minutes=None,
        ),
        logging=LoggingConfig(progress=False),
        seed=seed,
        precision="fp32",
        name="tiny",
    )


def quiet(_message: str) -> None:
    """An ``echo`` that swallows messages."""


def log_lines(out_dir: Path, kind: str = "train") -> list[dict[str, Any]]:
    """The ``log.jsonl`` records of one type, in order."""
    lines = (Path(out_dir) / "log.jsonl").read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    return [r for r in records if r["type"] == kind]


def reference_config(steps: int = 40, **changes: Any) -> TrainConfig:
    """The run the loop, resume and kill tests share: 40 steps, checkpoints every 5."""
    return tiny_config(steps=steps, checkpoint_every=5, val_every=10, **changes)
