"""Configs by name (``vqseg-train smoke``) as well as by file."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from vqseg_core.train.bundled_configs import bundled_config_names, resolve_config
from vqseg_core.train.config import load_config

ROOT = Path(__file__).parents[3]
VQSEG_TRAIN = str(Path(sys.executable).with_name("vqseg-train"))


def test_the_shipped_training_configs_have_names() -> None:
    names = bundled_config_names()
    assert {"smoke", "chest-xray", "ct-organs", "brain-mri", "paper/chest-xray-2d"} <= set(names)
    assert not [n for n in names if n.startswith("studies/")]  # study files are not configs


def test_a_name_and_its_file_give_the_same_config() -> None:
    assert load_config("smoke") == load_config(ROOT / "configs" / "smoke.yaml")


def test_a_named_config_reads_its_data_from_the_working_directory(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    config = load_config("chest-xray")
    assert Path(config.data.dataset) == tmp_path / "data" / "jsrt"
    by_file = load_config(ROOT / "configs" / "chest-xray.yaml")
    assert Path(by_file.data.dataset) == ROOT / "data" / "jsrt"  # a file: its own folder
    _, base = resolve_config("paper/chest-xray-2d")
    assert base == tmp_path / "configs" / "paper"


def test_an_unknown_name_lists_the_bundled_ones() -> None:
    with pytest.raises(ValueError, match=r"no bundled config of that name; bundled: .*smoke"):
        load_config("no-such-config")
    with pytest.raises(ValueError, match="cannot read config"):
        load_config("missing.yaml")  # a file name is a file, never a bundled name


def test_vqseg_train_exports_torchscript_by_flag(tmp_path) -> None:
    from isolated import run_command

    out = tmp_path / "run"
    proc = run_command(
        [VQSEG_TRAIN, "smoke",
         "--set", "schedule.steps=2", "--set", "schedule.val_every=2",
         "--set", "logging.progress=false", "--out", str(out), "--export", "torchscript"],
        timeout=300,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert (out / "smoke-torchscript.yaml").is_file() and (out / "smoke-torchscript.pt").is_file()
    assert (out / "curves.png").stat().st_size > 10_000  # loss, Dice and codebook usage
    bad = run_command(
        [
            str(Path(__import__("sys").executable).with_name("vqseg-train")),
            "smoke",
            "--export",
            "coreml",
            "--out",
            str(tmp_path / "never"),
        ],
        timeout=120,
    )
    assert bad.returncode == 2 and "--export" in bad.stderr and "Traceback" not in bad.stderr
    assert not (tmp_path / "never").exists()  # refused before any training
