"""Which cases train and which validate: the split a :class:`~vqseg_core.data.spec.DataConfig` names.

Training (``vqseg-train``) and evaluation (``vqseg-eval --split val``) call the same
:func:`split_dataset`, so an evaluation's validation cases are exactly the training run's.
"""

from __future__ import annotations

from collections.abc import Sequence

from vqseg_core.data.layouts import Case, split_by_ids, split_by_parity, split_cases
from vqseg_core.data.spec import DataConfig

SPLITS = ("random", "parity", "ids", "slices")


def split_dataset(cases: Sequence[Case], data: DataConfig) -> tuple[list[Case], list[Case]]:
    """``(train, validation)`` cases as ``data.split`` says."""
    if data.split not in SPLITS:
        raise ValueError(f"data.split must be one of {SPLITS}, got {data.split!r}")
    if data.split == "slices":
        return list(cases), []
    if data.split == "parity":
        parts = split_by_parity(cases)
        return list(parts["odd"]), list(parts["even"])
    if data.split == "ids":
        parts = split_by_ids(cases, {"val": list(data.val_cases)}, rest="train")
        return list(parts["train"]), list(parts["val"])
    parts = split_cases(
        cases, {"train": 1 - data.val_fraction, "val": data.val_fraction}, seed=data.split_seed
    )
    return list(parts["train"]), list(parts["val"])
