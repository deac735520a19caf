"""vqseg-demo: a headless screenshot run (the bundled set plus an export), the model options
(a pair of exports included) and the usage errors."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

from napari_vqseg.demo import build_parser, main, model_choice
from napari_vqseg.explorer.settings import FROM_FILES


def test_demo_refuses_one_model_file(capsys) -> None:
    assert main(["--unet", "a.json", "--screenshot", "x.png"]) == 2
    assert "--vqunet" in capsys.readouterr().err


def test_demo_without_a_bundled_set_says_to_pass_files(capsys, tmp_path) -> None:
    status = main(["--pair", "no-such-pair", "--screenshot", str(tmp_path / "s.png")])
    assert status == 2
    err = capsys.readouterr().err
    assert "--models" in err and "--unet" in err


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        ([], ("chest-xray", (), None)),
        (["--models", "unet,vqunet"], ("chest-xray", (), ("unet", "vqunet"))),
        (["--models", "vqunet, x/mine.json"], ("chest-xray", ("x/mine.json",), ("vqunet",))),
        (["--models", "a.json,b.safetensors"], (FROM_FILES, ("a.json", "b.safetensors"), None)),
        (["--unet", "u.json", "--vqunet", "v.json"], (FROM_FILES, ("u.json", "v.json"), None)),
    ],
)
def test_models_option_mixes_set_keys_and_export_files(argv, expected) -> None:
    assert model_choice(build_parser().parse_args(argv), "chest-xray") == expected


def test_models_and_unet_options_exclude_each_other() -> None:
    args = build_parser().parse_args(["--models", "unet", "--unet", "u", "--vqunet", "v"])
    with pytest.raises(ValueError, match="either --models"):
        model_choice(args, "chest-xray")


def _run(args: list[str], shot) -> subprocess.CompletedProcess:
    cmd = [sys.executable, "-m", "napari_vqseg.demo", "--sample", "chest-xray", "--noise", "gaussian",
           "--draws", "2", *args, "--screenshot", str(shot), "--timeout", "150"]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, timeout=300)


def test_a_pair_of_exports_still_opens(tiny_pair_files) -> None:
    from napari_vqseg._sample_data import load_sample
    from napari_vqseg.demo import prepare
    from napari_vqseg.explorer.session import ExplorerSession

    args = build_parser().parse_args(["--level", "20", "--unet", str(tiny_pair_files["unet"]),
                                      "--vqunet", str(tiny_pair_files["vqunet"])])  # fmt: skip
    session = ExplorerSession()
    settings = prepare(session, args, load_sample("chest-xray"))
    assert settings.models == FROM_FILES and settings.level == 20.0
    assert settings.image_layer == "chest-xray" and settings.gt_layer == "chest-xray ground truth"
    assert session.loaded(settings).keys == ("unet", "vqunet")


@pytest.mark.gui
@pytest.mark.slow
def test_demo_compares_the_bundled_set_with_an_export(tiny_vqunet_as_chest, tmp_path) -> None:
    shot = tmp_path / "three.png"
    out = _run(["--level", "20", "--models", f"unet,vqunet,{tiny_vqunet_as_chest}"], shot)
    assert out.returncode == 0, out.stderr[-3000:]
    assert shot.stat().st_size > 10_000
    summary = json.loads(shot.with_suffix(".json").read_text(encoding="utf-8"))
    assert summary["corruption"]["kind"] == "gaussian" and summary["corruption"]["level"] == 20.0
    names = {layer["name"] for layer in summary["layers"]}
    assert {"UNet · mask", "VQ-UNet · mask", "tiny-vqunet · mask", "chest-xray"} <= names
    assert summary["device"] == "cpu" and summary["grid"]["enabled"]
    assert summary["compared"][:2] == ["unet", "vqunet"] and len(summary["compared"]) == 3
    added = next(m for m in summary["models"]["members"] if m["name"] == "tiny-vqunet")
    assert added["name"] == "tiny-vqunet" and added["file"].endswith("tiny-vqunet.json")
    assert {row["model"] for row in summary["metrics"]} == set(summary["compared"])
    assert summary["grid"]["shape"] == [1, 3]


def test_demo_refuses_an_out_of_range_level_with_the_corruptions_message(capsys, tmp_path) -> None:
    status = main(
        ["--level", "500", "--noise", "gaussian", "--screenshot", str(tmp_path / "s.png")]
    )
    assert status == 2
    assert "level 500.0 out of range for 'gaussian'" in capsys.readouterr().err  # before napari


def test_demo_refuses_an_unknown_model_key(capsys, tmp_path) -> None:
    assert main(["--models", "unet,nope", "--screenshot", str(tmp_path / "s.png")]) == 2
    assert "no model nope" in capsys.readouterr().err


def test_demo_without_a_display_fails_fast_naming_xvfb() -> None:
    import os

    env = {k: v for k, v in os.environ.items() if k not in ("DISPLAY", "WAYLAND_DISPLAY")}
    env.pop("QT_QPA_PLATFORM", None)
    code = (
        "import sys; from napari_vqseg.demo import main; sys.exit(main(['--sample', 'chest-xray']))"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, env=env
    )
    assert proc.returncode == 2, proc.stderr
    assert "xvfb-run" in proc.stderr and "Traceback" not in proc.stderr


def test_display_problem_names_what_is_missing() -> None:
    from napari_vqseg.demo import display_problem

    assert display_problem({"DISPLAY": ":99"}) is None
    if sys.platform.startswith("linux"):
        assert "xvfb-run" in display_problem({})
