"""vqseg-demo: headless screenshot run with the tiny pair, and its usage errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from napari_vqseg.demo import main


def test_demo_refuses_one_model_file(capsys) -> None:
    assert main(["--unet", "a.json", "--screenshot", "x.png"]) == 2
    assert "--vqunet" in capsys.readouterr().err


def test_demo_without_a_bundled_pair_says_to_pass_files(capsys, tmp_path) -> None:
    status = main(["--pair", "no-such-pair", "--screenshot", str(tmp_path / "s.png")])
    assert status == 2
    assert "--unet" in capsys.readouterr().err


@pytest.mark.gui
@pytest.mark.slow
def test_demo_saves_screenshot_and_summary(tiny_pair_files, tmp_path) -> None:
    shot = tmp_path / "demo.png"
    cmd = [sys.executable, "-m", "napari_vqseg.demo", "--sample", "chest-xray", "--noise", "gaussian",
           "--level", "20", "--draws", "2", "--unet", str(tiny_pair_files["unet"]),
           "--vqunet", str(tiny_pair_files["vqunet"]), "--screenshot", str(shot), "--timeout", "120"]  # fmt: skip
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=240)
    assert out.returncode == 0, out.stderr[-3000:]
    assert shot.stat().st_size > 10_000
    summary = json.loads(shot.with_suffix(".json").read_text(encoding="utf-8"))
    assert summary["corruption"]["kind"] == "gaussian" and summary["corruption"]["level"] == 20.0
    names = {layer["name"] for layer in summary["layers"]}
    assert {"UNet: mask", "VQ-UNet: mask", "chest-xray"} <= names
    assert {row["model"] for row in summary["metrics"]} == {"unet", "vqunet"}
    assert summary["device"] == "cpu"
