"""Across-seed summaries: per-seed case means, mean ± sd over seeds, paired differences."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import pytest

from vqseg_core.evaluation.seeds import (
    Run,
    SeedStat,
    paired_differences,
    per_seed_means,
    seed_table,
    summarise_seeds,
)

FIELDS = ["case_id", "model", "kind", "level", "dice_mean", "dice_lungs", "hd95_mean"]


def _write(folder: Path, rows: list[dict]) -> Path:
    folder.mkdir(parents=True)
    with (folder / "cases.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, FIELDS)
        w.writeheader()
        w.writerows(rows)
    return folder


def _rows(unet: list[float], vq: list[float], level: float = 10.0) -> list[dict]:
    out = []
    for i, (u, v) in enumerate(zip(unet, vq, strict=True)):
        for model, d in (("unet", u), ("vqunet", v)):
            out.append(
                dict(
                    case_id=f"c{i}",
                    model=model,
                    kind="gaussian",
                    level=level,
                    dice_mean=d,
                    dice_lungs=d,
                    hd95_mean="" if i == 0 else 3.0,
                )
            )
    return out


@pytest.fixture
def runs(tmp_path: Path) -> list[Run]:
    # seed 1: UNet cases .8/.6 (mean .7), VQ .9/.7 (.8); seed 2: UNet .5, VQ .4; seed 3: .6 / .9
    made = [
        Run("vqunet", 1, _write(tmp_path / "a1", _rows([0.8, 0.6], [0.9, 0.7]))),
        Run("vqunet", 2, _write(tmp_path / "a2", _rows([0.5, 0.5], [0.4, 0.4]))),
        Run("vqunet", 3, _write(tmp_path / "a3", _rows([0.6, 0.6], [0.9, 0.9]))),
        # the PE variant's run repeats seed 1's UNet with different (wrong) numbers: ignored
        Run("vqpe", 1, _write(tmp_path / "b1", _rows([0.0, 0.0], [0.3, 0.5]))),
    ]
    return made


def test_per_seed_means_take_each_seeds_unet_once(runs: list[Run]) -> None:
    means = per_seed_means(runs, "cases.csv", "dice_mean")
    assert means[("unet", "gaussian", 10.0)] == pytest.approx({1: 0.7, 2: 0.5, 3: 0.6})
    assert means[("vqunet", "gaussian", 10.0)] == pytest.approx({1: 0.8, 2: 0.4, 3: 0.9})
    assert means[("vqpe", "gaussian", 10.0)] == pytest.approx({1: 0.4})
    # blank cells are left out of the case mean, not counted as 0
    hd = per_seed_means(runs, "cases.csv", "hd95_mean")
    assert hd[("unet", "gaussian", 10.0)][1] == pytest.approx(3.0)


def test_paired_differences_and_table(runs: list[Run]) -> None:
    means = per_seed_means(runs, "cases.csv", "dice_mean")
    diff = paired_differences(means, "vqunet")[("gaussian", 10.0)]
    assert diff.values == pytest.approx((0.1, -0.1, 0.3))
    assert diff.mean == pytest.approx(0.1)
    assert diff.sd == pytest.approx(np.std([0.1, -0.1, 0.3], ddof=1))
    table = seed_table(means, "gaussian", {"unet": "UNet", "vqunet": "VQ", "vqpe": "PE"})
    assert "| 10 | 0.600 ± 0.100 |" in table
    assert "(2/3)" in table  # VQ above UNet in 2 of 3 seeds
    assert "-0.300 (0/1)" in table  # PE seed 1: 0.4 vs the UNet of seed 1, 0.7


def test_seed_stat_edge_cases() -> None:
    assert SeedStat.of([]).cell() == "-"
    one = SeedStat.of([0.5, float("nan")])
    assert one.n == 1 and one.cell() == "0.500"


def test_summarise_writes_tables_csv_and_plots(runs: list[Run], tmp_path: Path) -> None:
    out = tmp_path / "out"
    md = summarise_seeds(runs, [], out, {"vqunet": "VQ-UNet"}).read_text(encoding="utf-8")
    assert "## Dice (mean of classes), gaussian" in md and "VQ-UNet" in md
    assert (out / "seeds_dice_mean_gaussian.png").stat().st_size > 1000
    with (out / "seeds_cases_dice_mean.csv").open(encoding="utf-8") as f:
        assert len(list(csv.DictReader(f))) == 3 + 3 + 1
    assert "dice_heart" not in md  # absent metrics are skipped


def test_run_parse() -> None:
    assert Run.parse("vqpe:2:runs/x:y") == Run("vqpe", 2, Path("runs/x:y"))
    with pytest.raises(ValueError, match="VARIANT:SEED:FOLDER"):
        Run.parse("vqpe-2")


def test_shift_rows_use_their_role(tmp_path: Path) -> None:
    folder = tmp_path / "s1"
    folder.mkdir()
    with (folder / "shift.csv").open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, ["role", "case_id", "model", "dice_mean"])
        w.writeheader()
        w.writerow(dict(role="in-domain", case_id="a", model="unet", dice_mean=0.9))
        w.writerow(dict(role="shifted", case_id="b", model="vqunet", dice_mean=0.7))
    runs = [Run("vqunet", 1, folder)]
    means = per_seed_means(runs, "shift.csv", "dice_mean")
    assert means == {("unet", "in-domain", 0.0): {1: 0.9}, ("vqunet", "shifted", 0.0): {1: 0.7}}
    md = summarise_seeds([], [], tmp_path / "out", shift_runs=runs).read_text(encoding="utf-8")
    assert "## Dice (mean of classes), shifted" in md


def test_cli_seeds(runs: list[Run], tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from vqseg_core.cli.eval import main

    args = ["seeds", "--label", "vqunet=VQ", "--out", str(tmp_path / "o")]
    for r in runs:
        args += ["--noise", f"{r.variant}:{r.seed}:{r.folder}"]
    assert main(args) == 0
    assert "| VQ |" in (tmp_path / "o" / "seeds.md").read_text(encoding="utf-8").replace(
        " − UNet", ""
    )
    typo = tmp_path / "typo"
    assert main(["seeds", "--noise", f"vqunet:1:{tmp_path / 'nowhere'}", "--out", str(typo)]) == 2
    assert "no such evaluation output" in capsys.readouterr().err
    assert main(["seeds", "--out", str(typo)]) == 2
    assert not typo.exists()  # a failed command leaves no folder behind
