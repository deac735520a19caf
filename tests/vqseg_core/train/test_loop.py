"""train(): a short run on synthetic discs, its outputs, determinism and refusals."""

from __future__ import annotations

import dataclasses
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

from vqseg_core.checkpoint import ConfigMismatchError, load_checkpoint, load_state_dict_strict
from vqseg_core.models.config import ModelConfig, build_model
from vqseg_core.train.config import load_config
from vqseg_core.train.data import Sample
from vqseg_core.train.loop import CHECKPOINT, RunExistsError, train
from vqseg_core.weights import load_weights

from ._synthetic import (
    TRAIN_FIELDS,
    disc_data,
    log_lines,
    quiet,
    reference_config,
    tiny_config,
    tiny_model,
)

CKPT_KEYS = {"model", "optimizer", "step", "config", "log_bytes"}


def _model_tensors(out_dir: Path) -> dict[str, torch.Tensor]:
    return load_checkpoint(out_dir / CHECKPOINT, expected_keys=CKPT_KEYS)["model"]


def _copy_run(src: Path, dst: Path) -> Path:
    shutil.copytree(src, dst)
    return dst


def test_loss_falls_and_validation_dice_is_logged(reference_run: Path) -> None:
    losses = [r["loss"] for r in log_lines(reference_run)]
    assert np.mean(losses[-10:]) < np.mean(losses[:10])
    val = log_lines(reference_run, "val")
    assert [r["step"] for r in val] == [10, 20, 30, 40]
    assert all(0.0 <= r["dice"]["foreground"] <= 1.0 for r in val)
    assert val[-1]["dice"]["foreground"] > 0.5  # discs on noise are easy


def test_log_has_one_train_line_per_step_with_every_term(reference_run: Path) -> None:
    lines = log_lines(reference_run)
    assert [r["step"] for r in lines] == list(range(1, 41))
    for r in lines:
        assert set(r) == {"type", *TRAIN_FIELDS}
        assert all(np.isfinite(r[k]) for k in TRAIN_FIELDS)
        assert r["lr"] == reference_config().optim.lr
        assert 1 <= r["used_codes"] <= 16 and 1.0 <= r["perplexity"] <= 16.0 + 1e-6
        assert r["loss"] == pytest.approx(r["seg_loss"] + r["vq_loss"], rel=1e-5)
    # nothing but train and val lines, and no timestamps (the log must be reproducible)
    kinds = [
        json.loads(x)["type"]
        for x in (reference_run / "log.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    assert set(kinds) == {"train", "val"}


def test_outputs_exist(reference_run: Path) -> None:
    for name in (
        "config.yaml",
        "log.jsonl",
        "checkpoints/latest.ckpt",
        "tiny.safetensors",
        "tiny.json",
        "summary.json",
    ):
        assert (reference_run / name).is_file(), name


def test_saved_config_reads_back_as_the_run_config(reference_run: Path) -> None:
    config = reference_config()
    again = load_config(reference_run / "config.yaml")
    # a relative dataset is resolved against the config's folder: everything else is identical
    assert dataclasses.replace(again, data=config.data) == config
    saved = load_checkpoint(reference_run / CHECKPOINT)["config"]
    assert saved == json.loads(json.dumps(config.to_dict()))


def test_checkpoint_holds_the_final_state(reference_run: Path) -> None:
    state = load_checkpoint(reference_run / CHECKPOINT, expected_keys=CKPT_KEYS)
    assert state["step"] == 40
    assert state["log_bytes"] == (reference_run / "log.jsonl").stat().st_size
    assert bool(state["model"]["quantizer.initialized"])


def test_summary_reports_steps_dice_and_augmentations(reference_run: Path) -> None:
    summary = json.loads((reference_run / "summary.json").read_text(encoding="utf-8"))
    last_val = log_lines(reference_run, "val")[-1]["dice"]
    assert summary == {
        "name": "tiny",
        "steps": 40,
        "validation_dice": last_val,
        "augmentations": [],
        "weights": "tiny.safetensors",
    }


def test_exported_weights_load_into_a_model_built_from_their_json(reference_run: Path) -> None:
    state, config = load_weights(reference_run / "tiny.json")
    model = build_model(ModelConfig.from_dict(config["model"]))
    load_state_dict_strict(model, state)
    assert config["classes"] == {"1": "foreground"}
    assert config["validation_dice"] == log_lines(reference_run, "val")[-1]["dice"]
    # float16 export: exactly the checkpoint's tensors rounded to half precision
    final = _model_tensors(reference_run)
    for key, value in model.state_dict().items():
        expected = final[key].half().float() if final[key].is_floating_point() else final[key]
        assert torch.equal(value, expected), key
    # and the exported model segments the validation discs about as well as logged
    _, val = disc_data()
    model.eval()
    with torch.inference_mode():
        pred = model(torch.from_numpy(val[0].image)[None]).argmax(1)[0].numpy()
    assert np.mean(pred == val[0].label) > 0.9


def test_every_written_file_loads_safely(reference_run: Path) -> None:
    files = sorted(p for p in reference_run.rglob("*") if p.is_file())
    assert files, "nothing written"
    for path in files:
        if path.suffix == ".ckpt":
            state = load_checkpoint(path)  # sha256-checked, weights_only=True
            assert set(state) == CKPT_KEYS
        elif path.suffix == ".safetensors":
            load_weights(path)
        elif path.suffix in (".json", ".jsonl"):
            for line in (
                path.read_text(encoding="utf-8").splitlines()
                if path.suffix == ".jsonl"
                else [path.read_text(encoding="utf-8")]
            ):
                json.loads(line)
        elif path.suffix == ".yaml":
            yaml.safe_load(path.read_text(encoding="utf-8"))
        elif path.parent.name == "tensorboard" and path.name.startswith("events.out.tfevents"):
            continue  # TensorBoard's own records (tests/vqseg_core/train/test_events.py)
        else:
            pytest.fail(f"unexpected file {path.relative_to(reference_run)}")


def test_same_seed_twice_is_bit_identical(reference_run: Path, tmp_path: Path) -> None:
    train(reference_config(), tmp_path, data=disc_data(), device="cpu", echo=quiet)
    assert log_lines(tmp_path) == log_lines(reference_run)  # every field, exact floats
    assert log_lines(tmp_path, "val") == log_lines(reference_run, "val")
    first, second = _model_tensors(reference_run), _model_tensors(tmp_path)
    assert first.keys() == second.keys()
    assert all(torch.equal(first[k], second[k]) for k in first)
    # (not the files' bytes: safetensors writes its metadata in hash-map order)
    _assert_same_weights(tmp_path, reference_run)


def _assert_same_weights(a: Path, b: Path) -> None:
    (state_a, config_a), (state_b, config_b) = (
        load_weights(a / "tiny.json"),
        load_weights(b / "tiny.json"),
    )
    assert config_a == config_b and state_a.keys() == state_b.keys()
    assert all(torch.equal(state_a[k], state_b[k]) for k in state_a)


def test_another_seed_gives_another_run(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    train(tiny_config(steps=2, seed=1), a, data=disc_data(), device="cpu", echo=quiet)
    train(tiny_config(steps=2, seed=2), b, data=disc_data(), device="cpu", echo=quiet)
    assert log_lines(a)[0]["loss"] != log_lines(b)[0]["loss"]


def test_training_again_into_a_run_folder_raises_run_exists_error(
    reference_run: Path, tmp_path: Path
) -> None:
    out = _copy_run(reference_run, tmp_path / "run")
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    with pytest.raises(RunExistsError, match="resume"):
        train(reference_config(), out, data=disc_data(), device="cpu", echo=quiet)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before


def test_a_log_without_checkpoint_is_a_run_too(tmp_path: Path) -> None:
    (tmp_path / "log.jsonl").write_text('{"type": "train", "step": 1}\n', encoding="utf-8")
    with pytest.raises(RunExistsError):
        train(tiny_config(steps=2), tmp_path, data=disc_data(), device="cpu", echo=quiet)


@pytest.mark.parametrize(
    ("changed", "key"),
    [
        (reference_config(model=tiny_model(beta=0.5)), "model.beta"),
        (reference_config(augment=("flip",)), "data.augment"),
    ],
    ids=["model", "data"],
)
def test_resume_with_changed_config_is_refused_unless_allowed(
    tmp_path: Path, changed, key: str
) -> None:
    train(reference_config(), tmp_path, data=disc_data(), device="cpu", echo=quiet, stop_after=5)
    log_before = (tmp_path / "log.jsonl").read_bytes()
    with pytest.raises(ConfigMismatchError, match=key):
        train(changed, tmp_path, resume=True, data=disc_data(), device="cpu", echo=quiet)
    assert (tmp_path / "log.jsonl").read_bytes() == log_before
    assert load_checkpoint(tmp_path / CHECKPOINT)["step"] == 5
    with pytest.warns(UserWarning, match=key):
        result = train(
            changed,
            tmp_path,
            resume=True,
            allow_config_change=True,
            data=disc_data(),
            device="cpu",
            echo=quiet,
            stop_after=7,
        )
    assert result.steps_done == 7 and result.interrupted
    assert [r["step"] for r in log_lines(tmp_path)] == list(range(1, 8))
    assert load_checkpoint(tmp_path / CHECKPOINT)["config"]["model"]["beta"] == changed.model.beta


def test_plain_unet_trains_without_vq_terms(tmp_path: Path) -> None:
    config = tiny_config(steps=3, model=tiny_model(kind="unet"))
    config = dataclasses.replace(config, optim=dataclasses.replace(config.optim, grad_clip=1.0))
    result = train(config, tmp_path, data=disc_data(), device="cpu", echo=quiet)
    assert result.steps_done == 3 and not result.interrupted and result.weights is not None
    for r in log_lines(tmp_path):
        assert set(r) == {"type", "step", "loss", "seg_loss", "lr"}
        assert r["loss"] == r["seg_loss"]
    state, meta = load_weights(result.weights)
    load_state_dict_strict(build_model(ModelConfig.from_dict(meta["model"])), state)


def test_3d_patches_train_and_validate_by_sliding_window(tmp_path: Path) -> None:
    config = tiny_config(
        steps=3, val_every=3, batch_size=2, model=tiny_model(spatial_dims=3), patch_size=(8, 8, 8)
    )
    data = disc_data(n_train=2, n_val=1, size=12, spatial_dims=3)
    messages: list[str] = []
    result = train(config, tmp_path, data=data, device="cpu", echo=messages.append)
    assert result.steps_done == 3 and set(result.final_dice) == {"foreground"}
    assert log_lines(tmp_path, "val")[0]["dice"] == result.final_dice
    assert any("done: 3 steps" in m for m in messages)
    load_weights(tmp_path / "tiny.safetensors")


def test_non_finite_loss_stops_the_run_naming_the_step(tmp_path: Path) -> None:
    train_set, val = disc_data()
    bad = [Sample(np.full_like(s.image, np.nan), s.label, s.case_id, s.spacing) for s in train_set]
    with pytest.raises(FloatingPointError, match="step 1"):
        train(tiny_config(steps=3), tmp_path, data=(bad, val), device="cpu", echo=quiet)


def test_resuming_a_finished_run_keeps_its_results(reference_run: Path, tmp_path: Path) -> None:
    out = _copy_run(reference_run, tmp_path / "run")
    result = train(reference_config(), out, resume=True, data=disc_data(), device="cpu", echo=quiet)
    assert result.steps_done == 40 and not result.interrupted
    assert (out / "log.jsonl").read_bytes() == (reference_run / "log.jsonl").read_bytes()
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary == json.loads((reference_run / "summary.json").read_text(encoding="utf-8"))
    meta, expected = (
        json.loads((d / "tiny.json").read_text(encoding="utf-8")) for d in (out, reference_run)
    )
    del meta["sha256"], expected["sha256"]  # safetensors' header order is not fixed
    assert meta == expected
    _assert_same_weights(out, reference_run)
