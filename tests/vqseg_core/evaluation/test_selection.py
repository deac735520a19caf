"""``select_cases``: ``max_cases`` applies to the selected split, after splitting."""

from __future__ import annotations

import pytest

from vqseg_core.data.layouts import read_dataset
from vqseg_core.data.spec import DataConfig
from vqseg_core.data.splits import split_dataset
from vqseg_core.evaluation import CaseSelection, select_cases


def _split(disc_dataset, seed: int) -> tuple[list[str], list[str]]:
    cases = sorted(read_dataset(disc_dataset).cases, key=lambda c: c.case_id)
    train, val = split_dataset(cases, DataConfig(val_fraction=0.4, split_seed=seed))
    return sorted(c.case_id for c in train), sorted(c.case_id for c in val)


@pytest.mark.parametrize("split", ["val", "train"])
def test_max_cases_takes_the_first_cases_of_the_selected_split(disc_dataset, split) -> None:
    train, val = _split(disc_dataset, seed=8)
    assert val == ["case02", "case04"]  # not among the first two ids of the dataset
    chosen = select_cases(
        disc_dataset, CaseSelection(split=split, val_fraction=0.4, split_seed=8, max_cases=2)
    )
    expected = val if split == "val" else train
    assert [c.case_id for c in chosen] == expected[:2]


def test_max_cases_larger_than_the_split_keeps_the_whole_split(disc_dataset) -> None:
    _, val = _split(disc_dataset, seed=8)
    chosen = select_cases(disc_dataset, CaseSelection(val_fraction=0.4, split_seed=8, max_cases=9))
    assert [c.case_id for c in chosen] == val


def test_max_cases_below_one_is_refused(disc_dataset) -> None:
    with pytest.raises(ValueError, match="max_cases"):
        select_cases(disc_dataset, CaseSelection(split="all", max_cases=0))


def test_exported_selection_reads_the_export_and_takes_overrides():
    from vqseg_core.evaluation.selection import exported_selection

    assert exported_selection({}) == CaseSelection()  # training's defaults
    data = {"split": "parity", "val_fraction": 0.3, "split_seed": 7, "val_cases": ["b", "a"]}
    sel = exported_selection(data)
    assert (sel.method, sel.val_fraction, sel.split_seed, sel.val_cases) == (
        "parity", 0.3, 7, ("b", "a"),
    )  # fmt: skip
    sel = exported_selection(data, split="all", method="ids", val_fraction=0.5, split_seed=1,
                             val_cases=["c"], max_cases=3)  # fmt: skip
    assert (sel.split, sel.method, sel.val_fraction, sel.split_seed, sel.val_cases) == (
        "all", "ids", 0.5, 1, ("c",),
    )  # fmt: skip
    assert sel.max_cases == 3
    # a slice split has no case split: its cases select as random (the slabs come after)
    assert exported_selection({"split": "slices"}).method == "random"
