"""split_dataset: the train / validation cases of each split method."""

from __future__ import annotations

from pathlib import Path

import pytest

from vqseg_core.data.layouts import Case
from vqseg_core.data.spec import DataConfig
from vqseg_core.data.splits import SPLITS, split_dataset


def _cases(n: int) -> list[Case]:
    return [Case(f"case{i:03d}", Path(f"i{i}.png"), Path(f"l{i}.png")) for i in range(1, n + 1)]


def _ids(cases: list[Case]) -> list[str]:
    return [c.case_id for c in cases]


def test_random_split_is_a_pure_function_of_the_seed() -> None:
    cases = _cases(10)
    train, val = split_dataset(cases, DataConfig(val_fraction=0.3, split_seed=5))
    assert len(val) == 3 and len(train) == 7
    assert set(_ids(train)).isdisjoint(_ids(val)) and len(set(_ids(train + val))) == 10
    again = split_dataset(list(reversed(cases)), DataConfig(val_fraction=0.3, split_seed=5))
    assert (_ids(again[0]), _ids(again[1])) == (_ids(train), _ids(val))
    other = split_dataset(cases, DataConfig(val_fraction=0.3, split_seed=6))
    assert _ids(other[1]) != _ids(val)


def test_parity_ids_and_slices_splits() -> None:
    cases = _cases(4)
    train, val = split_dataset(cases, DataConfig(split="parity"))
    assert (_ids(train), _ids(val)) == (["case001", "case003"], ["case002", "case004"])
    train, val = split_dataset(cases, DataConfig(split="ids", val_cases=("case004",)))
    assert (_ids(train), _ids(val)) == (["case001", "case002", "case003"], ["case004"])
    train, val = split_dataset(cases, DataConfig(split="slices"))
    assert (_ids(train), val) == (_ids(cases), [])


def test_unknown_split_is_refused_naming_the_known_ones() -> None:
    assert SPLITS == ("random", "parity", "ids", "slices")
    with pytest.raises(ValueError, match=r"data\.split must be one of"):
        split_dataset(_cases(2), DataConfig(split="kfold"))


def test_training_and_evaluation_share_the_split() -> None:
    from vqseg_core.train import dataset

    assert dataset.split_dataset is split_dataset and dataset.SPLITS is SPLITS
