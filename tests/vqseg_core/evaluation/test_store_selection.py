"""The resumable cell store, case selection and the shared helpers."""

from __future__ import annotations

import math

import pytest

from vqseg_core.data.layouts import read_dataset
from vqseg_core.data.spec import DataConfig
from vqseg_core.data.splits import split_dataset
from vqseg_core.evaluation import CaseSelection, CellStore, case_seed, cell_key, select_cases
from vqseg_core.evaluation.tables import fmt, noise_table


def test_store_roundtrip_skips_a_truncated_line(tmp_path) -> None:
    store = CellStore(tmp_path / "cells.jsonl")
    key = cell_key({"b": 1, "a": 2.0})
    assert key == cell_key({"a": 2.0, "b": 1})
    store.add(key, [{"x": float("nan"), "y": 1}])
    with (tmp_path / "cells.jsonl").open("a", encoding="utf-8") as fh:
        fh.write('{"key": "half')  # a crash mid-write
    again = CellStore(tmp_path / "cells.jsonl")
    assert key in again and len(again) == 1
    (record,) = again.records()
    assert math.isnan(record["x"]) and record["y"] == 1


def test_val_split_matches_training(disc_dataset) -> None:
    ds = read_dataset(disc_dataset)
    _, val = split_dataset(
        sorted(ds.cases, key=lambda c: c.case_id), DataConfig(val_fraction=0.4, split_seed=7)
    )
    chosen = select_cases(disc_dataset, CaseSelection(split="val", val_fraction=0.4, split_seed=7))
    assert [c.case_id for c in chosen] == sorted(c.case_id for c in val)
    assert len(select_cases(disc_dataset, CaseSelection(split="all"))) == 5


def test_explicit_cases_and_unknown_ids(disc_dataset) -> None:
    chosen = select_cases(disc_dataset, CaseSelection(cases=("case03", "case01")))
    assert [c.case_id for c in chosen] == ["case01", "case03"]
    with pytest.raises(ValueError, match="unknown case"):
        select_cases(disc_dataset, CaseSelection(cases=("nope",)))
    with pytest.raises(ValueError, match="split"):
        select_cases(disc_dataset, CaseSelection(split="test"))


def test_case_seed_is_stable_and_distinct() -> None:
    assert case_seed(0, "a") == case_seed(0, "a")
    assert len({case_seed(0, "a"), case_seed(0, "b"), case_seed(1, "a")}) == 3
    assert 0 <= case_seed(123, "x") < 2**31


def test_table_counts_empty_predictions_and_ignores_nan() -> None:
    rows = [
        {"dataset": "d", "pair": "p", "model": m, "kind": "gaussian", "level": 0.0, "case_id": str(i),
         "dice_mean": v, "empty_any": e}
        for m, vals in (("unet", [0.5, float("nan"), 0.7]), ("vqunet", [0.8, 0.9, 0.7]))
        for i, (v, e) in enumerate(zip(vals, [0, 1, 0], strict=True))
    ]  # fmt: skip
    table = noise_table(rows, "gaussian")
    assert "0.600 ± 0.141" in table and "(empty: 1)" in table
    assert "0.800 ± 0.100" in table and "**0.800" not in table  # paired CI includes 0
    assert fmt(float("nan")) == "–" and fmt(3e-4) == "3.0e-04" and fmt(0.5) == "0.500"
