"""Report export without Qt: files written, settings restorable, sweep plotted."""

from __future__ import annotations

import csv
import json

import numpy as np
import pytest

from napari_vqseg.explorer.report import export_report, read_settings, sweep_metrics
from napari_vqseg.explorer.state import ExplorerSettings


@pytest.fixture(scope="module")
def view(tiny_pair, disc):
    from vqseg_core.robustness import analyse

    image, gt = disc
    return analyse(tiny_pair, image, (1.0, 1.0), kind="gaussian", level=10, n_draws=2, ground_truth=gt,
                   device="cpu")  # fmt: skip


def test_export_writes_metrics_plots_screenshot_and_settings(tmp_path, tiny_pair, view) -> None:
    settings = ExplorerSettings(pair="tiny", kind="gaussian", level=10.0, seed=0, n_draws=2)
    sweep = [{"kind": "gaussian", "level": lv, "model": m, "seed": 0, "n_draws": 2, "dice_mean": 0.5,
              "flip_rate": 0.1} for lv in (0.0, 10.0) for m in ("unet", "vqunet")]  # fmt: skip
    shot = np.zeros((20, 30, 4), np.uint8)
    files = export_report(
        tmp_path, settings, pair=tiny_pair, view=view, sweep=sweep, screenshot=shot, units="%"
    )
    names = {p.name for p in files}
    assert {
        "metrics.csv",
        "sweep.csv",
        "sweep_dice_mean.png",
        "screenshot.png",
        "settings.json",
    } <= names
    with open(tmp_path / "metrics.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["model"] for r in rows} == {"unet", "vqunet"} and {
        "dice",
        "hd95_mm",
        "flip_rate",
    } <= set(rows[0])
    doc = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))
    assert doc["pair"]["sha256"] == tiny_pair.sha256
    assert doc["corruption"]["kind"] == "gaussian" and doc["packages"]["numpy"]
    assert read_settings(tmp_path) == settings
    assert "dice_mean" in sweep_metrics(sweep)


def test_reading_a_non_settings_file_fails_clearly(tmp_path) -> None:
    (tmp_path / "settings.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="not an explorer settings file"):
        read_settings(tmp_path)
    with pytest.raises(ValueError, match="cannot read"):
        read_settings(tmp_path / "missing.json")
