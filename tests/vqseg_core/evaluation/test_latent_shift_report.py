"""``run_latent``, ``run_shift`` and ``build_report`` on the tiny pair."""

from __future__ import annotations

import csv
import math

import pytest

from vqseg_core.evaluation import (
    CaseSelection,
    NoiseConfig,
    build_report,
    run_latent,
    run_shift,
    select_cases,
)
from vqseg_core.evaluation.report import markdown_to_html

CONFIG = NoiseConfig(
    kinds=("salt_and_pepper",), levels=(0.0, 10.0), n_draws=3, seed=1, device="cpu", progress=False
)


@pytest.fixture(scope="module")
def latent_run(tiny_pair, disc_dataset, tmp_path_factory):
    cases = select_cases(disc_dataset, CaseSelection(split="all", max_cases=2))
    out = tmp_path_factory.mktemp("latent")
    return out, run_latent([tiny_pair], "discs", cases, out, CONFIG, n_features=16)


@pytest.fixture(scope="module")
def shift_run(tiny_pair, disc_dataset, shifted_dataset, tmp_path_factory):
    home = select_cases(disc_dataset, CaseSelection(split="val", val_fraction=0.4, split_seed=42))
    away = select_cases(shifted_dataset, CaseSelection(split="all"))
    out = tmp_path_factory.mktemp("shift")
    return out, run_shift(
        [tiny_pair], ("discs", home), {"faint": away}, out, device="cpu", progress=False
    )


def test_latent_rows_are_zero_at_level_zero_and_move_under_noise(latent_run) -> None:
    _, result = latent_run
    assert len(result.rows) == 2 * 2 * 2
    for r in result.rows:
        assert r["variance"] >= 0 and len(r["channel_variance"]) == r["latent_shape"][0]
        if r["model"] == "vqunet":
            assert 0 <= r["flip_rate"] <= 1 and r["quantized_variance"] >= 0
        else:
            assert "flip_rate" not in r
        if r["level"] == 0:
            assert r["variance"] == 0.0 and r.get("flip_rate", 0.0) == 0.0
    noisy_unet = [r["variance"] for r in result.rows if r["level"] == 10 and r["model"] == "unet"]
    assert min(noisy_unet) > 0


def test_latent_outputs(latent_run) -> None:
    out, _ = latent_run
    table = (out / "table.md").read_text(encoding="utf-8")
    assert "Table 2" in table and "discs: salt_and_pepper" in table and "code-flip rate" in table
    with (out / "latent.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8 and "channel_variance" not in rows[0] and "relative_variance" in rows[0]
    assert (out / "heatmaps" / "heatmap_discs_tiny_salt_and_pepper.png").stat().st_size > 1000


def test_latent_needs_two_draws(tiny_pair, disc_dataset, tmp_path) -> None:
    cases = select_cases(disc_dataset, CaseSelection(split="all", max_cases=1))
    with pytest.raises(ValueError, match="at least 2 draws"):
        run_latent([tiny_pair], "d", cases, tmp_path, NoiseConfig(n_draws=1, progress=False))


def test_shift_rows_and_table(shift_run) -> None:
    out, result = shift_run
    roles = {(r["role"], r["dataset"]) for r in result.rows}
    assert roles == {("in-domain", "discs"), ("shifted", "faint")}
    assert len(result.rows) == (2 + 3) * 2
    table = (out / "table.md").read_text(encoding="utf-8")
    assert "discs→faint" in table and "discs Dice" in table and "HD95" in table
    with (out / "shift.csv").open(encoding="utf-8") as fh:
        header = next(csv.reader(fh))
    assert header[:4] == ["role", "domain", "dataset", "pair"] and "level" not in header


def test_report_is_one_self_contained_page(latent_run, shift_run, tmp_path) -> None:
    page = build_report([latent_run[0], shift_run[0]], tmp_path / "r" / "report.html")
    text = page.read_text(encoding="utf-8")
    assert text.startswith("<!DOCTYPE html>") and "<table>" in text
    assert "data:image/png;base64," in text and 'src="http' not in text
    assert "Model sets" in text and "torch" in text
    with pytest.raises(ValueError, match=r"settings\.json"):
        build_report([tmp_path], tmp_path / "x.html")


def test_markdown_tables_render_with_bold_and_escaping() -> None:
    html = markdown_to_html("### T <1>\n\n| a | b |\n|---|---|\n| **x** | 1 ± 2 |\n")
    assert "<h3>T &lt;1&gt;</h3>" in html and "<td><b>x</b></td>" in html and "<th>a</th>" in html


def test_nan_scores_are_not_averaged_as_inf(shift_run) -> None:
    _, result = shift_run
    assert all(not math.isinf(r["hd95_mean"]) for r in result.rows)
