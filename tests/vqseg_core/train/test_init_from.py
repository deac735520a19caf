"""init_from: a run that starts from trained weights (fine-tuning), and its refusals."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
import torch
import yaml

from vqseg_core.checkpoint import CheckpointError, load_checkpoint
from vqseg_core.pretrained.registry import WEIGHTS_DIR
from vqseg_core.train.config import OptimConfig, load_config
from vqseg_core.train.init_from import resolve_init
from vqseg_core.train.loop import CHECKPOINT, train
from vqseg_core.weights import load_weights

from ._synthetic import disc_data, reference_config, tiny_config, tiny_model


def _weights(reference_run: Path) -> Path:
    return reference_run / "tiny.json"


def test_a_fine_tune_starts_from_the_weights(reference_run: Path, tmp_path: Path) -> None:
    said: list[str] = []
    config = dataclasses.replace(
        tiny_config(steps=1, checkpoint_every=1, val_every=1),
        init_from=str(_weights(reference_run)), optim=OptimConfig(lr=1e-12, batch_size=4),
    )  # fmt: skip
    train(config, tmp_path / "ft", data=disc_data(), device="cpu", echo=said.append)
    assert any(m.startswith(f"initialised from {_weights(reference_run)}") for m in said)
    start, _ = load_weights(_weights(reference_run))
    tuned = load_checkpoint(tmp_path / "ft" / CHECKPOINT)["model"]
    for key, value in start.items():  # one step at lr 1e-12: still the exported weights
        if value.is_floating_point() and "usage" not in key and "ema" not in key:
            torch.testing.assert_close(tuned[key].float(), value, rtol=0, atol=1e-6, msg=key)
    # from scratch the same step is far from them (the check above can fail)
    train(dataclasses.replace(config, init_from=None), tmp_path / "scratch", data=disc_data(),
          device="cpu", echo=lambda _m: None)  # fmt: skip
    scratch = load_checkpoint(tmp_path / "scratch" / CHECKPOINT)["model"]
    assert any(
        not torch.allclose(scratch[k].float(), v, atol=1e-3)
        for k, v in start.items() if v.is_floating_point()
    )  # fmt: skip


def test_a_resumed_fine_tune_continues_from_its_checkpoint(
    reference_run: Path, tmp_path: Path
) -> None:
    config = dataclasses.replace(reference_config(steps=4), init_from=str(_weights(reference_run)))
    out = tmp_path / "ft"
    train(config, out, data=disc_data(), device="cpu", echo=lambda _m: None, stop_after=2)
    said: list[str] = []
    train(config, out, data=disc_data(), device="cpu", echo=said.append, resume=True)
    assert any("resuming" in m for m in said)
    assert not any(m.startswith("initialised from") for m in said)


def test_another_architecture_is_refused_before_training(
    reference_run: Path, tmp_path: Path
) -> None:
    other = tiny_model(channels=(8, 16, 32))
    config = dataclasses.replace(
        tiny_config(model=other), init_from=str(_weights(reference_run))
    )
    with pytest.raises(CheckpointError, match=r"another architecture \(channels: weights"):
        train(config, tmp_path / "ft", data=disc_data(), device="cpu", echo=lambda _m: None)
    assert not (tmp_path / "ft" / "log.jsonl").exists() or not (
        tmp_path / "ft" / "log.jsonl"
    ).read_text().strip()


def test_a_fine_tune_may_change_how_the_codebook_is_used_not_its_shape(
    reference_run: Path, tmp_path: Path
) -> None:
    said: list[str] = []
    healthy = tiny_model(codebook_preset="healthy")  # cosine lookup + dead-code restarts
    config = dataclasses.replace(
        tiny_config(steps=1, checkpoint_every=1, val_every=1, model=healthy),
        init_from=str(_weights(reference_run)),
    )  # fmt: skip
    train(config, tmp_path / "ft", data=disc_data(), device="cpu", echo=said.append)
    line = next(m for m in said if m.startswith("initialised from"))
    assert "quantiser settings changed: " in line and "cosine" in line
    ema = dataclasses.replace(config, model=tiny_model(ema_decay=0.99))  # adds buffers: refused
    with pytest.raises(CheckpointError, match=r"another architecture \(ema_decay: weights"):
        train(ema, tmp_path / "ema", data=disc_data(), device="cpu", echo=lambda _m: None)


def test_corrupt_weights_are_refused(reference_run: Path, tmp_path: Path) -> None:
    copy = tmp_path / "w"
    copy.mkdir()
    for f in ("tiny.json", "tiny.safetensors"):
        (copy / f).write_bytes((reference_run / f).read_bytes())
    data = bytearray((copy / "tiny.safetensors").read_bytes())
    data[-1] ^= 0xFF
    (copy / "tiny.safetensors").write_bytes(bytes(data))
    config = dataclasses.replace(reference_config(), init_from=str(copy / "tiny.json"))
    with pytest.raises(CheckpointError, match="sha256 mismatch"):
        train(config, tmp_path / "ft", data=disc_data(), device="cpu", echo=lambda _m: None)


def test_bundled_names_resolve_and_unknown_ones_list_the_choices() -> None:
    assert resolve_init("chest-xray/unet") == WEIGHTS_DIR / "chest-xray-unet.json"
    with pytest.raises(ValueError, match="set 'chest-xray' has unet, vqunet, unet-noise"):
        resolve_init("chest-xray/nope")
    with pytest.raises(ValueError, match=r"bundled: .*chest-xray/unet"):
        resolve_init("no-such-set/unet")


def test_relative_paths_resolve_like_the_dataset(tmp_path: Path, monkeypatch) -> None:
    folder = tmp_path / "configs"
    folder.mkdir()
    cfg = {"name": "x", "init_from": "w/model.json", "data": {"dataset": "synthetic"}}
    (folder / "c.yaml").write_text(yaml.safe_dump(cfg))
    monkeypatch.chdir(tmp_path)
    assert load_config(folder / "c.yaml").init_from == str(folder / "w" / "model.json")
    given = load_config(folder / "c.yaml", ["init_from=runs/a.json"])
    assert given.init_from == str(tmp_path / "runs" / "a.json")  # --set: the working directory
    bundled = load_config(folder / "c.yaml", ["init_from=chest-xray/unet"])
    assert bundled.init_from == "chest-xray/unet"
    assert "init_from" not in dataclasses.replace(bundled, init_from=None).to_dict()
    assert bundled.to_dict()["init_from"] == "chest-xray/unet"
