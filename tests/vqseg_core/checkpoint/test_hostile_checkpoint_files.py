"""Hostile paths given as checkpoints and weights: FIFOs, devices, folders, oversized files.

Each case that could block (a FIFO opened for reading waits for a writer; ``/dev/zero`` never
ends) runs in its own process with a time limit (:func:`isolated.run_isolated`): before the
fix they hung or died with ``MemoryError``; now each is a ``CheckpointError`` naming the file.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch

from isolated import run_isolated
from vqseg_core.checkpoint import CheckpointError, load_checkpoint, save_checkpoint
from vqseg_core.checkpoint.files import read_regular_file
from vqseg_core.models import ModelConfig, build_model
from vqseg_core.weights import export_weights, load_weights

needs_fifo = pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no FIFOs on this platform")
needs_dev_zero = pytest.mark.skipif(not Path("/dev/zero").exists(), reason="no /dev/zero")

CONFIG = ModelConfig(kind="vqunet", channels=(8, 16), codebook_size=16, codebook_dim=8, norm_groups=4)
EXPECT = "CheckpointError"
IMPORTS = "from vqseg_core.checkpoint import CheckpointError, load_checkpoint\n"
WEIGHTS = "from vqseg_core.checkpoint import CheckpointError\nfrom vqseg_core.weights import load_weights\n"


def _export(folder: Path) -> tuple[Path, Path]:
    torch.manual_seed(0)
    return export_weights(build_model(CONFIG), {"model": CONFIG.to_dict()}, folder, "m")


def _refused(body: str, path: Path, *words: str) -> str:
    outcome = run_isolated(body, expect=EXPECT, timeout=30)
    assert outcome.kind == "error", (outcome.kind, outcome.message[-800:])
    assert str(path) in outcome.message
    for word in words:
        assert word in outcome.message, outcome.message
    return outcome.message


@needs_fifo
def test_a_fifo_as_the_checkpoint_is_refused_without_blocking(tmp_path: Path) -> None:
    fifo = tmp_path / "last.ckpt"
    os.mkfifo(fifo)
    _refused(IMPORTS + f"load_checkpoint({str(fifo)!r})", fifo, "FIFO", "not a regular file")


@needs_dev_zero
def test_a_checkpoint_symlinked_to_dev_zero_is_refused_unread(tmp_path: Path) -> None:
    link = tmp_path / "last.ckpt"
    link.symlink_to("/dev/zero")
    message = _refused(IMPORTS + f"load_checkpoint({str(link)!r})", link, "character device")
    assert "/dev/zero" in message  # the symlink's target is named too


@needs_fifo
def test_a_fifo_as_the_weights_json_is_refused(tmp_path: Path) -> None:
    weights, meta = _export(tmp_path)
    meta.unlink()
    os.mkfifo(meta)
    _refused(WEIGHTS + f"load_weights({str(weights)!r})", meta, "FIFO")


@needs_fifo
def test_a_fifo_as_the_safetensors_file_is_refused(tmp_path: Path) -> None:
    weights, meta = _export(tmp_path)
    weights.unlink()
    os.mkfifo(weights)
    _refused(WEIGHTS + f"load_weights({str(meta)!r})", weights, "FIFO")


@needs_fifo
def test_a_fifo_as_a_model_set_member_is_refused(tmp_path: Path) -> None:
    fifo = tmp_path / "member.json"
    os.mkfifo(fifo)
    body = (
        "from vqseg_core.checkpoint import CheckpointError\n"
        "from vqseg_core.modelset import set_from_files\n"
        f"set_from_files([{str(fifo)!r}])"
    )
    _refused(body, fifo, "FIFO")


def test_a_folder_is_refused_as_unreadable(tmp_path: Path) -> None:
    folder = tmp_path / "x.ckpt"
    folder.mkdir()
    with pytest.raises(CheckpointError, match="folder") as info:
        load_checkpoint(folder)
    assert info.value.path == str(folder)


def test_a_file_over_the_bound_is_refused_before_reading(tmp_path: Path) -> None:
    path = tmp_path / "big.bin"
    path.write_bytes(b"x" * 1000)
    with pytest.raises(CheckpointError, match="larger than") as info:
        read_regular_file(path, max_bytes=999, what="checkpoint")
    assert str(path) in str(info.value)
    assert read_regular_file(path, max_bytes=1000) == b"x" * 1000


def test_a_checkpoint_over_the_memory_budget_is_refused(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "last.ckpt"
    save_checkpoint(path, {"w": torch.zeros(4096)})
    monkeypatch.setenv("VQSEG_MEMORY_BUDGET", "1K")
    with pytest.raises(CheckpointError, match="larger than a checkpoint may be"):
        load_checkpoint(path)
    monkeypatch.setenv("VQSEG_MEMORY_BUDGET", "1M")
    assert torch.equal(load_checkpoint(path)["w"], torch.zeros(4096))


def test_weights_of_another_size_than_the_json_says_are_refused_unread(tmp_path: Path) -> None:
    weights, meta = _export(tmp_path)
    with weights.open("ab") as f:
        f.write(b"\0" * 10_000)
    with pytest.raises(CheckpointError, match=r"too long: \d+ bytes, m\.json says"):
        load_weights(meta)


def test_an_oversized_weights_json_is_refused_unread(tmp_path: Path) -> None:
    weights, meta = _export(tmp_path)
    meta.write_bytes(b" " * (16 * 2**20 + 1))
    with pytest.raises(CheckpointError, match="larger than") as info:
        load_weights(weights)
    assert info.value.path == str(meta)
