"""Shared test fixtures and settings."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings

# derandomize: the same examples on every run, so CI cannot fail by chance on a new example
settings.register_profile("ci", deadline=None, print_blob=True, derandomize=True)
settings.load_profile("ci")

# the suite checks eager torch (the float32 reference) unless a test asks for a backend; the
# ONNX Runtime path is tested in tests/vqseg_core/test_backends.py
os.environ.setdefault("VQSEG_BACKEND", "torch")
os.environ.setdefault("VQSEG_CACHE_DIR", "off")

SHARED_DATA = Path(
    os.environ.get("VQSEG_SHARED_DATA", Path(__file__).parents[2] / "shared" / "data")
)


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The folder of real datasets outside the repository (never committed); skip when absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"real data folder {SHARED_DATA} not present (set VQSEG_SHARED_DATA)")
    return SHARED_DATA


def _disc_samples(n: int, size: int, seed: int):
    import numpy as np

    from vqseg_core.train.data import Sample

    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[:size, :size]
    out = []
    for i in range(n):
        cy, cx = rng.uniform(0.35, 0.65, 2) * size
        r = rng.uniform(0.15, 0.25) * size
        label = ((yy - cy) ** 2 + (xx - cx) ** 2 < r * r).astype(np.int64)
        label[(np.abs(yy - cy) < r / 3) & (np.abs(xx - cx) < r / 3)] = 2
        image = 0.2 + 0.3 * (label > 0) + 0.3 * (label == 2) + 0.05 * rng.normal(size=label.shape)
        out.append(
            Sample(np.clip(image, 0, 1).astype(np.float32)[None], label, f"disc{i}", (1.0, 1.0))
        )
    return out


@pytest.fixture(scope="session")
def tiny_pair_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """A tiny 2D UNet / VQ-UNet pair (classes 1 "ring", 2 "core") trained for a few seconds
    on synthetic discs with the chest-xray recipe at 64x64; ``{"unet": json, "vqunet": json}``."""
    return _tiny_files(tmp_path_factory, ("unet", "vqunet"))


@pytest.fixture(scope="session")
def tiny_third_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A third tiny model like :func:`tiny_pair_files`: a VQ-UNet with quantised skips."""
    return _tiny_files(tmp_path_factory, ("vqskip",))["vqskip"]


@pytest.fixture(scope="session")
def tiny_set(tiny_pair_files: dict[str, Path], tiny_third_file: Path):
    """The three-model set UNet, VQ-UNet, VQ-UNet with quantised skips."""
    from vqseg_core.modelset import set_from_files

    return set_from_files(
        [tiny_pair_files["unet"], tiny_pair_files["vqunet"], tiny_third_file], name="tiny3"
    )


def _tiny_files(tmp_path_factory: pytest.TempPathFactory, kinds: tuple[str, ...]) -> dict[str, Path]:
    """Train tiny models of ``kinds`` on one thread (torch's spinning OpenMP threads make two
    threads several times slower when anything else runs on a 2-core machine)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        return _train_tiny(tmp_path_factory, kinds)
    finally:
        torch.set_num_threads(threads)


def _train_tiny(tmp_path_factory: pytest.TempPathFactory, kinds: tuple[str, ...]) -> dict[str, Path]:
    from vqseg_core.models import ModelConfig
    from vqseg_core.train.config import (
        DataConfig,
        LoggingConfig,
        OptimConfig,
        ScheduleConfig,
        TrainConfig,
    )
    from vqseg_core.train.loop import train

    root = tmp_path_factory.mktemp("tiny_models")
    samples = _disc_samples(12, 64, 0)
    paths = {}
    for kind in kinds:
        config = TrainConfig(
            name=f"tiny-{kind}",
            model=ModelConfig(
                kind=kind,
                spatial_dims=2,
                out_channels=3,
                channels=(8, 16, 32),
                norm_groups=4,
                codebook_size=64,
                codebook_dim=16,
                codebook_init="kmeans",
            ),
            data=DataConfig(
                recipe="chest_xray", image_size=(64, 64), labels={1: "ring", 2: "core"}
            ),
            optim=OptimConfig(lr=3e-3, batch_size=4),
            schedule=ScheduleConfig(
                steps=40, val_every=40, checkpoint_every=40, checkpoint_minutes=None
            ),
            logging=LoggingConfig(export_dtype="float32", progress=False),
        )
        train(
            config,
            root / kind,
            data=(samples[:10], samples[10:]),
            device="cpu",
            echo=lambda m: None,
        )
        paths[kind] = root / kind / f"tiny-{kind}.json"
    return paths


@pytest.fixture(scope="session")
def tiny_vqunet_as_chest(tiny_pair_files: dict[str, Path], tmp_path_factory) -> Path:
    """The tiny VQ-UNet export with its classes named like the bundled chest set's (1 lungs,
    2 heart), so it can join that set (a set refuses members that name a label differently)."""
    import hashlib
    import json

    from safetensors import safe_open
    from safetensors.torch import save_file

    source = tiny_pair_files["vqunet"]
    folder = tmp_path_factory.mktemp("tiny_as_chest")
    doc = json.loads(source.read_text(encoding="utf-8"))
    names = {"1": "lungs", "2": "heart"}
    weights = source.with_name(doc["weights_file"])
    with safe_open(str(weights), "pt") as fh:  # the config is embedded in the weights too
        tensors = {k: fh.get_tensor(k) for k in fh.keys()}  # noqa: SIM118 (not a dict)
        metadata = dict(fh.metadata())
    for config in (doc["config"], embedded := json.loads(metadata["vqseg_config"])):
        config["data"]["labels"] = dict(names)
        config["classes"] = dict(names)
    metadata["vqseg_config"] = json.dumps(embedded, sort_keys=True)
    save_file(tensors, str(folder / weights.name), metadata=metadata)
    data = (folder / weights.name).read_bytes()
    doc["sha256"], doc["size_bytes"] = hashlib.sha256(data).hexdigest(), len(data)
    path = folder / source.name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture(scope="session")
def tiny_pair(tiny_pair_files: dict[str, Path]):
    """The :class:`~vqseg_core.pretrained.ModelPair` of :func:`tiny_pair_files`."""
    from vqseg_core.pretrained import load_pair_from_files

    return load_pair_from_files(tiny_pair_files["unet"], tiny_pair_files["vqunet"], name="tiny")


@pytest.fixture
def full_disk(monkeypatch: pytest.MonkeyPatch):
    """Call it to make every atomic write of :mod:`vqseg_core.reporting` fail as on a full disk
    (``fsync`` raises ENOSPC; writes before the call succeed)."""
    import errno

    from vqseg_core import reporting

    class FullDisk:
        def __getattr__(self, name: str):
            return getattr(os, name)

        @staticmethod
        def fsync(fd: int) -> None:
            raise OSError(errno.ENOSPC, "No space left on device")

    return lambda: monkeypatch.setattr(reporting, "os", FullDisk())
