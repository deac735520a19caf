"""Report export without Qt: files written, settings restorable, one row per model."""

from __future__ import annotations

import csv
import json
import math

import numpy as np
import pytest

from napari_vqseg.explorer.report import (
    draw_sweep,
    export_report,
    latent_rows,
    metric_rows,
    read_settings,
    sweep_metrics,
)
from napari_vqseg.explorer.session import legend_of
from napari_vqseg.explorer.settings import ExplorerSettings


@pytest.fixture(scope="module")
def view(tiny_trio, disc):
    from vqseg_core.robustness import analyse

    image, gt = disc
    return analyse(tiny_trio, image, (1.0, 1.0), kind="gaussian", level=10, n_draws=2,
                   ground_truth=gt, device="cpu")  # fmt: skip


def test_export_writes_metrics_plots_screenshot_and_settings(tmp_path, tiny_trio, view) -> None:
    settings = ExplorerSettings(models="tiny-trio", kind="gaussian", level=10.0, seed=0, n_draws=2)
    sweep = [{"kind": "gaussian", "level": lv, "model": m, "seed": 0, "n_draws": 2, "dice_mean": 0.5,
              "flip_rate": 0.1} for lv in (0.0, 10.0) for m in tiny_trio.keys]  # fmt: skip
    shot = np.zeros((20, 30, 4), np.uint8)
    files = export_report(tmp_path, settings, models=tiny_trio, view=view, sweep=sweep,
                          screenshot=shot, units="%", legend=legend_of(tiny_trio))  # fmt: skip
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
    assert [r["model"] for r in rows] == ["unet", "unet", "vqunet", "vqunet", "vqcopy", "vqcopy"]
    assert {"name", "class", "dice", "hd95", "hd95_units", "flip_rate", "reference"} <= set(rows[0])
    assert rows[-1]["name"] == "VQ copy" and rows[0]["hd95_units"] == "mm"
    doc = json.loads((tmp_path / "settings.json").read_text(encoding="utf-8"))
    assert doc["models"]["sha256"] == tiny_trio.sha256 and doc["models"]["id"] == tiny_trio.id
    assert doc["corruption"]["kind"] == "gaussian" and doc["packages"]["numpy"]
    assert read_settings(tmp_path) == settings
    assert "dice_mean" in sweep_metrics(sweep)


def test_rows_follow_the_models_of_the_view(view) -> None:
    assert [r["model"] for r in latent_rows(view)] == ["unet", "vqunet", "vqcopy"]
    unet, vq, _ = latent_rows(view)
    assert math.isnan(unet["flip_rate"]) and 0 <= vq["flip_rate"] <= 1
    assert {r["class"] for r in metric_rows(view)} == {"ring", "core"}


def test_sweep_plot_has_one_line_per_model_in_its_colour(tiny_trio) -> None:
    from matplotlib.colors import to_hex
    from matplotlib.figure import Figure

    rows = [{"kind": "gaussian", "level": lv, "model": m, "dice_mean": 0.5}
            for lv in (0.0, 10.0) for m in tiny_trio.keys]  # fmt: skip
    fig = Figure()
    draw_sweep(fig, rows, "dice_mean", "%", legend_of(tiny_trio))
    lines = fig.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["UNet", "VQ-UNet", "VQ copy"]
    assert [to_hex(line.get_color()) for line in lines] == [m.colour for m in tiny_trio]


def test_reading_a_non_settings_file_fails_clearly(tmp_path) -> None:
    (tmp_path / "settings.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(ValueError, match="not an explorer settings file"):
        read_settings(tmp_path)
    with pytest.raises(ValueError, match="cannot read"):
        read_settings(tmp_path / "missing.json")


def test_the_html_report_is_one_self_contained_page(tmp_path, tiny_trio, view) -> None:
    settings = ExplorerSettings(models="tiny-trio", kind="gaussian", level=10.0, seed=3, n_draws=2)
    sweep = [{"kind": "gaussian", "level": lv, "model": m, "seed": 3, "n_draws": 2, "dice_mean": 0.5}
             for lv in (0.0, 10.0) for m in tiny_trio.keys]  # fmt: skip
    extra = {"image": {"layer": "discs <case 7>"}, "warnings": ["12 NaN/Inf pixels replaced"]}
    files = export_report(tmp_path, settings, models=tiny_trio, view=view, sweep=sweep,
                          screenshot=np.zeros((20, 30, 4), np.uint8), units="%",
                          legend=legend_of(tiny_trio), extra=extra)  # fmt: skip
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert tmp_path / "report.html" in files
    assert "discs &lt;case 7&gt;" in page and "<case 7>" not in page  # escaped
    assert "gaussian at 10.0" in page and "2 draws, seed 3" in page
    assert "12 NaN/Inf pixels replaced" in page
    assert page.count("data:image/png;base64,") == 2  # screenshot + one sweep plot, embedded
    assert 'src="http' not in page and "<script" not in page
    assert "HD95 (mm)" in page and "VQ copy" in page and tiny_trio.sha256["unet"] in page
    for row in metric_rows(view):
        if not math.isnan(row["dice"]):
            assert f"{row['dice']:.3f}" in page


def test_without_ground_truth_the_export_has_agreement_and_na(tmp_path, tiny_trio, disc) -> None:
    from vqseg_core.engine import RunRequest
    from vqseg_core.perturb import Corruption
    from vqseg_core.robustness import analyse
    from vqseg_core.robustness.view import with_clean_labels

    image, _ = disc
    view = analyse(tiny_trio, image, None, kind="gaussian", level=10, n_draws=2, device="cpu")
    request = RunRequest(tiny_trio, image, None, Corruption("gaussian", 10.0, 0), 2, "cpu")
    view = with_clean_labels(view, request)
    settings = ExplorerSettings(models="tiny-trio", kind="gaussian", level=10.0, n_draws=2)
    sweep = [{"kind": "gaussian", "level": lv, "model": m, "seed": 0, "n_draws": 2,
              "changed_fraction": lv / 100, "flip_rate": 0.1}
             for lv in (0.0, 10.0) for m in tiny_trio.keys]  # fmt: skip
    files = export_report(tmp_path, settings, models=tiny_trio, view=view, sweep=sweep,
                          legend=legend_of(tiny_trio))  # fmt: skip
    # without a ground truth the change from the clean image is plotted too
    assert {"sweep_changed_fraction.png", "sweep_flip_rate.png"} <= {f.name for f in files}
    with open(tmp_path / "metrics.csv", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["model"] for r in rows] == ["unet", "vqunet", "vqcopy"]
    assert float(rows[0]["agreement"]) == 1.0  # the reference agrees with itself
    assert float(rows[2]["agreement"]) == float(rows[1]["agreement"])  # vqcopy is vqunet
    for row, mv in zip(rows, view.models.values(), strict=True):
        assert float(row["clean_agreement"]) == pytest.approx(mv.clean_agreement)
        assert 0.0 <= float(row["clean_agreement"]) <= 1.0
        assert row["area_units"] == "px"  # no spacing: pixels, never assumed millimetres
        assert float(row["area_ring"]) == float((mv.labels == 1).sum())
        assert float(row["area_core"]) == float((mv.labels == 2).sum())
    page = (tmp_path / "report.html").read_text(encoding="utf-8")
    assert "agrees with reference" in page and "n/a" in page  # the UNet has no code flips
    assert "agrees with its clean-image mask" in page and "ring area (px)" in page
    assert "no pixel spacing: areas are in pixels" in page  # what is shown, in its units
    assert "against UNet&#x27;s" in page  # the reference by its display name, not its key
    ring = float(rows[0]["area_ring"])
    assert f"<td>{ring:.0f}</td>" in page  # a pixel count is whole


def test_with_a_ground_truth_the_export_has_no_answers_meant_for_its_absence(view) -> None:
    from napari_vqseg.explorer.report import export_rows, model_values

    values = model_values(view)
    assert all("clean_agreement" not in v and "area_ring" not in v for v in values.values())
    assert all("area_units" not in r for r in export_rows(view))


def test_sweep_metrics_are_named_in_words_and_the_plot_says_one_image_one_seed() -> None:
    from matplotlib.figure import Figure

    from napari_vqseg.explorer.report import metric_label, sweep_title

    assert metric_label("dice_lungs") == "Dice lungs" and metric_label("hd95_heart") == "HD95 heart"
    assert metric_label("dice_mean") == "Dice, mean over classes"
    assert metric_label("flip_rate_skip0") == "code flips (share of codes), skip0"
    assert metric_label("something_new") == "something_new"
    rows = [{"kind": "gaussian", "level": lv, "model": "m", "seed": 4, "n_draws": 2,
             "changed_fraction": 0.1} for lv in (0.0, 10.0)]  # fmt: skip
    assert sweep_title(rows, "chest.png") == "chest.png: one image, seed 4, 2 draws per level"
    fig = Figure()
    draw_sweep(fig, rows, "changed_fraction", "%", image="chest.png")
    assert fig.axes[0].get_title() == "chest.png: one image, seed 4, 2 draws per level"
    assert fig.axes[0].get_ylabel() == "changed vs clean image (share of pixels)"
