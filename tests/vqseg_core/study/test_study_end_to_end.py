"""A tiny two-arm, two-seed study runs end to end on the bundled CT slab (so the command that
makes the VQ study cannot rot): train, evaluate, summarise, then resume without redoing work."""

from __future__ import annotations

import csv
import gzip
import json
import shutil
from pathlib import Path

import pytest

from vqseg_core.cli.study import main
from vqseg_core.study.archive import read_archive, write_archive
from vqseg_core.study.spec import load_study

ROOT = Path(__file__).resolve().parents[3]

STUDY = f"""
name: tiny
base: {ROOT / "configs" / "smoke.yaml"}
seeds: [1, 2]
set:
  model.channels: [4, 8]
  model.norm_groups: 2
  model.codebook_size: 16
  model.codebook_dim: 8
  optim.batch_size: 2
  schedule.steps: 2
  schedule.val_every: 2
  schedule.checkpoint_every: 2
  logging.progress: false
reference: unet
arms:
  unet: {{label: UNet, set: {{model.kind: unet}}}}
  vq: {{label: VQ-UNet, set: {{model.codebook_preset: healthy}}}}
evaluate:
  kinds: [gaussian]
  levels: [0, 20]
  max_cases: 1
"""


@pytest.fixture
def study_file(tmp_path: Path) -> Path:
    path = tmp_path / "tiny.yaml"
    path.write_text(STUDY + "archive: archive\n", encoding="utf-8")
    return path


def test_tiny_study_trains_evaluates_and_summarises(
    study_file, tmp_path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    out, to = tmp_path / "study", tmp_path / "docs"
    assert main(["all", str(study_file), "--out", str(out), "--device", "cpu", "--to", str(to),
                 "--quiet"]) == 0  # fmt: skip
    spec = load_study(study_file)
    assert all(run.export.exists() for run in spec.runs(out))
    readme = (to / "README.md").read_text(encoding="utf-8")
    assert "| UNet | 2 |" in readme and "| VQ-UNet | 2 |" in readme
    assert "seeds > 0" in readme  # the VQ arm's difference to the UNet, with its seed count
    assert "## Codebook usage" in readme and "of 16" in readme
    assert "## Mechanism probes" in readme and "bottleneck zeroed" in readme
    with gzip.open(to / "cases_noise.csv.gz", "rt", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {(r["arm"], r["seed"], r["level"]) for r in rows} == {
        (a, s, lv) for a in ("unet", "vq") for s in ("1", "2") for lv in ("0.0", "20.0")
    }
    assert all(0.0 <= float(r["dice_lungs"]) <= 1.0 for r in rows if r["dice_lungs"] != "")
    usage = json.loads((out / "eval" / "vq-s1" / "codebook.json").read_text(encoding="utf-8"))
    assert 1 <= usage["latents"]["bottleneck"]["used"] <= 16
    # resuming does no work twice: the stores keep their lines
    store = out / "eval" / "unet-s1" / "noise.jsonl"
    before = store.read_text(encoding="utf-8")
    assert main(["all", str(study_file), "--out", str(out), "--device", "cpu", "--quiet"]) == 0
    assert store.read_text(encoding="utf-8") == before
    # the archive outlives the machine: with every run folder gone, nothing is trained again
    # and the summary's tables come back the same from the committed records alone
    archives = sorted(p.name for p in (tmp_path / "archive").iterdir())
    assert archives == ["unet-s1.json.gz", "unet-s2.json.gz", "vq-s1.json.gz", "vq-s2.json.gz"]
    shutil.rmtree(out)
    assert main(["status", str(study_file), "--out", str(out)]) == 0
    assert "0 finished, 4 archived, 0 partial, 0 missing" in capsys.readouterr().out
    assert main(["all", str(study_file), "--out", str(out), "--device", "cpu", "--quiet",
                 "--to", str(tmp_path / "again")]) == 0  # fmt: skip
    assert not (out / "runs").exists()
    again = (tmp_path / "again" / "README.md").read_text(encoding="utf-8")
    assert _tables(again) == _tables(readme)
    assert "Machines (training and evaluation): " in again and "(4 runs)" in again
    assert "| UNet | 2 |" in again and "## Validation lungs Dice" in again


def _tables(text: str) -> list[str]:
    """The README's table rows (the noise-scale figure needs a local run, the tables do not)."""
    return [line for line in text.splitlines() if line.startswith("|")]


def test_an_archive_of_other_settings_is_refused(study_file, tmp_path) -> None:
    spec = load_study(study_file)
    run = spec.runs(tmp_path / "out")[0]
    folder = tmp_path / "eval"
    folder.mkdir()
    for name, text in (("noise_rows.json", "[]"), ("probes.json", "[]"),
                       ("codebook.json", "{}")):  # fmt: skip
        (folder / name).write_text(text, encoding="utf-8")
    path = write_archive(spec, run, folder)
    assert path == tmp_path / "archive" / "unet-s1.json.gz"
    assert read_archive(spec, run)["run"] == "unet-s1"
    assert "logical CPUs" in read_archive(spec, run)["machine"]
    assert path.read_bytes() == write_archive(spec, run, folder).read_bytes()  # same bytes
    changed = tmp_path / "changed.yaml"
    changed.write_text(study_file.read_text(encoding="utf-8").replace(
        "schedule.steps: 2", "schedule.steps: 3"), encoding="utf-8")  # fmt: skip
    with pytest.raises(ValueError, match="other settings"):
        read_archive(load_study(changed), run)
    (folder / "codebook.json").unlink()
    with pytest.raises(ValueError, match="incomplete"):
        write_archive(spec, run, folder)


def test_status_lists_every_run(study_file, tmp_path, capsys) -> None:
    assert main(["status", str(study_file), "--out", str(tmp_path / "none")]) == 0
    text = capsys.readouterr().out
    assert "unet-s1" in text and "vq-s2" in text and "0 finished, 0 archived, 0 partial, 4 missing" in text


def test_a_bad_study_file_is_a_user_error(tmp_path, capsys) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "name: x\nbase: smoke.yaml\nseeds: [1]\narms: {a: {sett: {}}}\n", encoding="utf-8"
    )
    assert main(["status", str(bad), "--out", str(tmp_path)]) == 2
    assert "unknown keys ['sett']" in capsys.readouterr().err
