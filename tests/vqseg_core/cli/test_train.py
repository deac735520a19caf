"""``vqseg-train``: a short run of the smoke config in process, exit codes and messages."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from vqseg_core.cli.train import main

SMOKE = Path(__file__).parents[3] / "configs" / "smoke.yaml"
SHORT = [
    "--set", "schedule.steps=2",
    "--set", "schedule.val_every=2",
    "--set", "schedule.checkpoint_every=2",
    "--set", "logging.progress=false",
    "--set", "data.patch_size=[64,64]",
    "--set", "data.val_slices=['12:13']",
    "--set", "name=cli-smoke",
]  # fmt: skip  (2 steps on 64 x 64 crops, one validation slice: a few seconds)


@pytest.mark.slow
def test_a_short_smoke_run_exports_its_weights(tmp_path: Path, capsys) -> None:
    out = tmp_path / "run"
    assert main([str(SMOKE), *SHORT, "--out", str(out), "--device", "cpu"]) == 0
    for name in (
        "config.yaml",
        "log.jsonl",
        "checkpoints/latest.ckpt",
        "cli-smoke.safetensors",
        "cli-smoke.json",
        "summary.json",
    ):
        assert (out / name).is_file(), name
    summary = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    assert summary["steps"] == 2 and summary["weights"] == "cli-smoke.safetensors"
    assert "name: cli-smoke" in capsys.readouterr().err  # the resolved config is printed
    # the same command again refuses to overwrite the run
    assert main([str(SMOKE), *SHORT, "--out", str(out), "--device", "cpu"]) == 2
    assert "vqseg-train: error:" in capsys.readouterr().err


def test_an_unknown_config_key_is_exit_code_2_with_one_line(tmp_path: Path, capsys) -> None:
    code = main([str(SMOKE), "--set", "model.codebook_sise=8", "--out", str(tmp_path / "x")])
    assert code == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("vqseg-train: error: ")
    assert "codebook_sise" in err
    assert not (tmp_path / "x").exists()


def test_a_bad_option_is_exit_code_2(capsys) -> None:
    with pytest.raises(SystemExit) as exc:
        main([str(SMOKE), "--device", "tpu"])
    assert exc.value.code == 2
    assert "--device" in capsys.readouterr().err


def test_print_config_prints_the_overridden_config_and_exits(capsys) -> None:
    assert main([str(SMOKE), "--set", "optim.lr=0.5", "--print-config"]) == 0
    assert "lr: 0.5" in capsys.readouterr().err


def test_python_m_vqseg_core_train_is_the_same_command() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "vqseg_core.train", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.startswith("usage: vqseg-train")
