"""``run_noise``: per-case rows, tables, plots, resume and determinism."""

from __future__ import annotations

import csv
import math

import pytest

from vqseg_core.evaluation import CaseSelection, NoiseConfig, run_noise, select_cases

CONFIG = NoiseConfig(
    kinds=("gaussian",), levels=(0.0, 20.0), n_draws=2, seed=5, device="cpu", progress=False
)


@pytest.fixture(scope="module")
def cases(disc_dataset):
    return select_cases(disc_dataset, CaseSelection(split="all", max_cases=2))


@pytest.fixture(scope="module")
def first_run(tiny_pair, cases, tmp_path_factory):
    out = tmp_path_factory.mktemp("noise")
    return out, run_noise([tiny_pair], "discs", cases, out, CONFIG)


def test_rows_cover_cases_models_and_levels(first_run) -> None:
    _, result = first_run
    assert result.computed == result.total == 2 * 2  # cases x levels (both models per cell)
    keys = {(r["case_id"], r["model"], r["level"]) for r in result.rows}
    assert len(keys) == len(result.rows) == 2 * 2 * 2
    for r in result.rows:
        assert r["dataset"] == "discs" and r["kind"] == "gaussian" and r["n_draws"] == 2
        for name in ("ring", "core"):
            assert 0.0 <= r[f"dice_{name}"] <= 1.0
            assert math.isnan(r[f"hd95_{name}"]) or r[f"hd95_{name}"] >= 0
            assert 0 <= r[f"empty_{name}"] <= 2
        assert 0 <= r["dice_mean"] <= 1


def test_level_zero_draws_agree(first_run) -> None:
    _, result = first_run
    for r in result.rows:
        if r["level"] == 0:
            assert r["dice_sd_ring"] == 0.0 and r["dice_sd_core"] == 0.0


def test_outputs_are_written(first_run) -> None:
    out, _ = first_run
    with (out / "cases.csv").open(encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 8
    assert list(rows[0])[:6] == ["dataset", "pair", "pair_id", "case_id", "model", "kind"]
    assert {"dice_ring", "hd95_core", "empty_ring", "empty_any"} <= set(rows[0])
    table = (out / "table.md").read_text(encoding="utf-8")
    assert "Dice @0%" in table and "Dice @20%" in table and "HD95 (mm; pixels for data without a spacing) @20%" in table
    assert "| UNet |" in table and "| VQ-UNet |" in table and " ± " in table
    assert (out / "plots" / "dice_discs_tiny_gaussian.png").stat().st_size > 1000
    assert (out / "settings.json").is_file()


def test_rerun_resumes_and_reproduces(first_run, tiny_pair, cases) -> None:
    out, result = first_run
    again = run_noise([tiny_pair], "discs", cases, out, CONFIG)
    assert again.computed == 0 and again.rows == result.rows
    more = NoiseConfig(**{**CONFIG.__dict__, "levels": (0.0, 20.0, 30.0)})
    extended = run_noise([tiny_pair], "discs", cases, out, more)
    assert extended.computed == 2  # only the new level
    assert extended.rows[:2] == result.rows[:2]


def test_same_seed_same_numbers_in_a_fresh_folder(first_run, tiny_pair, cases, tmp_path) -> None:
    _, result = first_run
    fresh = run_noise([tiny_pair], "discs", cases, tmp_path, CONFIG)
    assert fresh.computed == 4
    assert [r["dice_ring"] for r in fresh.rows] == [r["dice_ring"] for r in result.rows]


def test_bad_config_is_refused(tiny_pair, cases, tmp_path) -> None:
    with pytest.raises(ValueError, match="out of range"):
        run_noise([tiny_pair], "d", cases, tmp_path, NoiseConfig(levels=(50.0,), progress=False))
    with pytest.raises(ValueError, match="draws"):
        run_noise([tiny_pair], "d", cases, tmp_path, NoiseConfig(n_draws=0, progress=False))


TWO_KINDS = NoiseConfig(**{**CONFIG.__dict__, "kinds": ("gaussian", "poisson")})


def _counting(monkeypatch) -> list[tuple[str, float]]:
    """Record the (kind, level) of every computed noise cell."""
    from vqseg_core.evaluation import noise

    calls: list[tuple[str, float]] = []
    original = noise.score_case_draws

    def counted(pair, case, kind, level, **kwargs):
        calls.append((kind, level))
        return original(pair, case, kind, level, **kwargs)

    monkeypatch.setattr(noise, "score_case_draws", counted)
    return calls


def test_clean_level_is_computed_once_per_case_and_pair(
    tiny_pair, cases, tmp_path, monkeypatch
) -> None:
    calls = _counting(monkeypatch)
    result = run_noise([tiny_pair], "discs", cases, tmp_path, TWO_KINDS)
    assert sum(level == 0 for _, level in calls) == len(cases)  # not once per kind
    assert result.computed == result.total == len(cases) * (1 + 2)
    clean = {(r["kind"], r["case_id"], r["model"]): r for r in result.rows if r["level"] == 0}
    assert len(clean) == 2 * len(cases) * 2  # every kind still has its 0 % rows
    for (kind, case_id, model), row in clean.items():
        other = clean["poisson" if kind == "gaussian" else "gaussian", case_id, model]
        assert {**row, "kind": None} == {**other, "kind": None}
    assert [(r["kind"], r["level"]) for r in result.rows[:8]] == [
        (k, lv) for k in ("gaussian", "poisson") for lv in (0.0, 20.0) for _ in range(2)
    ]  # table order: case, pair, kind, level, model
    again = run_noise([tiny_pair], "discs", cases, tmp_path, TWO_KINDS)
    assert again.computed == 0 and again.rows == result.rows


def test_shared_clean_cell_matches_a_single_kind_run_and_resumes(
    first_run, tiny_pair, cases, tmp_path, monkeypatch
) -> None:
    _, gaussian_only = first_run
    poisson = run_noise(
        [tiny_pair],
        "discs",
        cases,
        tmp_path / "p",
        NoiseConfig(**{**TWO_KINDS.__dict__, "kinds": ("poisson",)}),
    )
    gaussian_clean = [r for r in gaussian_only.rows if r["level"] == 0]
    poisson_clean = [r for r in poisson.rows if r["level"] == 0]
    assert [{**r, "kind": "poisson"} for r in gaussian_clean] == poisson_clean
    calls = _counting(monkeypatch)
    resumed = run_noise([tiny_pair], "discs", cases, tmp_path / "p", TWO_KINDS)
    assert calls == [("gaussian", 20.0)] * len(cases)  # the clean cell is reused
    assert resumed.computed == len(cases)
    assert [r for r in resumed.rows if r["kind"] == "poisson"] == poisson.rows
