"""``vqseg-eval``: in-process runs, exit codes and messages, and sharding under torchrun."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from vqseg_core.cli.eval import main
from vqseg_core.pretrained.registry import set_info


def _pair_args(files) -> list[str]:
    return ["--unet", str(files["unet"]), "--vqunet", str(files["vqunet"])]


NOISE = [
    "--kinds",
    "gaussian",
    "--levels",
    "0",
    "20",
    "--draws",
    "2",
    "--seed",
    "3",
    "--split",
    "all",
]
RUN = ["--device", "cpu", "--precision", "fp32", "--no-progress"]


def test_noise_latent_shift_report_end_to_end(discs, tiny_pair_files, tmp_path, capsys) -> None:
    pair = _pair_args(tiny_pair_files)
    assert main(["noise", str(discs), *NOISE, *pair, *RUN, "--out", str(tmp_path / "noise")]) == 0
    assert (tmp_path / "noise" / "cases.csv").is_file() and (
        tmp_path / "noise" / "table.md"
    ).is_file()
    assert "6 of 6 cells computed" in capsys.readouterr().err
    assert main(["noise", str(discs), *NOISE, *pair, *RUN, "--out", str(tmp_path / "noise")]) == 0
    assert "0 of 6 cells computed (6 already in" in capsys.readouterr().err
    latent = ["latent", str(discs), *NOISE, "--cases", "c0", "c1", *pair, *RUN]
    assert main([*latent, "--out", str(tmp_path / "latent")]) == 0
    assert any((tmp_path / "latent" / "heatmaps").glob("*.png"))
    shift = [
        "shift",
        "--in-domain",
        str(discs),
        "--shifted",
        str(discs.parent / "discs"),
        *pair,
        *RUN,
    ]
    assert main([*shift, "--out", str(tmp_path / "shift")]) == 2  # same name twice
    assert "same name" in capsys.readouterr().err
    report = tmp_path / "report.html"
    assert (
        main(["report", str(tmp_path / "noise"), str(tmp_path / "latent"), "--out", str(report)])
        == 0
    )
    assert "data:image/png;base64" in report.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        ([], "name the models"),
        (["--pair", "no-such-pair"], "unknown model set"),
        (["--unet", "u.json"], "go together"),
        (["--pair", "x", "--levels", "99"], "unknown model set"),
    ],
)
def test_user_errors_exit_2_with_a_message(discs, tmp_path, capsys, extra, message) -> None:
    code = main(["noise", str(discs), "--out", str(tmp_path), "--no-progress", *extra])
    assert code == 2
    err = capsys.readouterr().err
    assert err.startswith("vqseg-eval: error:") and message in err


def test_bad_level_and_missing_dataset_exit_2(discs, tiny_pair_files, tmp_path, capsys) -> None:
    pair = _pair_args(tiny_pair_files)
    assert main(["noise", str(discs), "--levels", "99", *pair, *RUN, "--out", str(tmp_path)]) == 2
    assert "out of range" in capsys.readouterr().err
    assert main(["noise", str(tmp_path / "none"), *pair, *RUN, "--out", str(tmp_path)]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["report", str(tmp_path), "--out", str(tmp_path / "r.html")]) == 2


def test_torchrun_two_processes_match_one(discs, tiny_pair_files, tmp_path) -> None:
    args = ["noise", str(discs), *NOISE, *_pair_args(tiny_pair_files), *RUN]
    assert main([*args, "--out", str(tmp_path / "one")]) == 0
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    cmd = [
        str(torchrun),
        "--nproc-per-node",
        "2",
        "-m",
        "vqseg_core.cli.eval",
        *args,
        "--out",
        str(tmp_path / "two"),
    ]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=240, env=env)
    assert proc.returncode == 0, proc.stderr[-3000:]
    one = (tmp_path / "one" / "cases.csv").read_text(encoding="utf-8")
    two = (tmp_path / "two" / "cases.csv").read_text(encoding="utf-8")
    assert one == two
    assert (tmp_path / "two" / "table.md").read_text(encoding="utf-8") == (
        tmp_path / "one" / "table.md"
    ).read_text(encoding="utf-8")


def test_probe_writes_every_probe_per_case_and_model(discs, tiny_pair_files, tmp_path) -> None:
    import csv

    out = tmp_path / "probe"
    args = ["probe", str(discs), "--kinds", "gaussian", "--levels", "0", "20", "--split", "all"]
    assert main([*args, *_pair_args(tiny_pair_files), *RUN, "--out", str(out)]) == 0
    with open(out / "probes.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    probes = {(r["model"], r["probe"]) for r in rows}
    expected = {"clean", "bottleneck_zero", "bottleneck_mean", "bottleneck_swap", "noisy",
                "noisy_bottleneck", "noisy_skips"}  # fmt: skip
    assert probes == {(m, p) for m in ("unet", "vqunet") for p in expected}
    assert len(rows) == 3 * 2 * len(expected)  # level 0 is the clean probe, not a noisy one
    certified = [r["certified"] for r in rows if r["probe"] == "noisy"]
    assert {c == "" or c.lower() == "nan" for c in certified[:3]} == {True}  # UNet: no codes
    assert all(0.0 <= float(c) <= 1.0 for c in certified[3:])
    assert "noisy skips only" in (out / "table.md").read_text(encoding="utf-8")


def test_ood_fits_on_train_and_reports_auc(discs, tiny_pair_files, tmp_path) -> None:
    out = tmp_path / "ood"
    args = ["ood", str(discs), "--shifted", str(discs), "--split-method", "ids",
            "--val-cases", "c2", "--corrupt", "gaussian", "30"]  # fmt: skip
    assert main([*args, *_pair_args(tiny_pair_files), *RUN, "--out", str(out)]) == 0
    table = (out / "table.md").read_text(encoding="utf-8")
    assert "held-out vs discs" in table and "held-out vs held-out, gaussian 30" in table
    assert (out / "reference_unet.json").is_file() and (out / "reference_vqunet.json").is_file()
    from vqseg_core.analysis.ood import FeatureReference

    ref = FeatureReference.load(out / "reference_vqunet.json")
    assert ref.source["n"] == 2 and len(ref.train_scores) == 2


def test_label_map_reads_0_255_style_masks_as_the_models_classes(
    discs, tiny_pair_files, tmp_path, capsys
) -> None:
    """Masks saved with 100 (ring) and 200 (core) are refused, naming a file, unless
    --label-map says what they mean; then the scores equal those of the 1/2 masks."""
    import csv
    import shutil

    from PIL import Image

    scaled = tmp_path / "scaled"
    shutil.copytree(discs, scaled)
    for mask in (scaled / "masks").glob("*.png"):
        Image.fromarray((np.asarray(Image.open(mask)) * 100).astype(np.uint8)).save(mask)
    args = ["noise", *_pair_args(tiny_pair_files), *NOISE[:4], "--draws", "1", "--split", "all"]
    assert main([*args, str(scaled), "--out", str(tmp_path / "refused"), *RUN]) == 2
    err = capsys.readouterr().err
    assert "masks" in err and ".png" in err and "100" in err  # the file and the values named
    assert main([*args, str(scaled), "--out", str(tmp_path / "mapped"), *RUN,
                 "--label-map", "100:1,200:2"]) == 0  # fmt: skip
    assert main([*args, str(discs), "--out", str(tmp_path / "plain"), *RUN]) == 0

    def dice(folder):
        with open(folder / "cases.csv", encoding="utf-8") as fh:
            return sorted(
                (r["case_id"], r["model"], r["level"], r["dice_ring"], r["dice_core"])
                for r in csv.DictReader(fh)
            )

    assert dice(tmp_path / "mapped") == dice(tmp_path / "plain")
    with pytest.raises(SystemExit):
        main([*args, str(discs), "--out", str(tmp_path / "x"), "--label-map", "255=1"])


def test_a_bundled_sample_is_a_dataset_as_in_training(tmp_path, capsys) -> None:
    args = ["noise", "sample:chest-xray", "--set", "chest-xray", "--kinds", "gaussian",
            "--levels", "0", "--draws", "1", *RUN]  # fmt: skip
    assert main([*args, "--out", str(tmp_path / "ok")]) == 0
    text = (tmp_path / "ok" / "cases.csv").read_text(encoding="utf-8")
    n_models = len(set_info("chest-xray").keys)
    assert text.count("\nchest-xray,") == n_models  # one case, one row per model of the set
    assert main([*args[:1], "sample:nosuch", *args[2:], "--out", str(tmp_path / "no")]) == 2
    assert "unknown sample 'nosuch'" in capsys.readouterr().err
