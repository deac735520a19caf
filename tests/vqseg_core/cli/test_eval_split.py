"""``vqseg-eval`` takes the split from the models' own export config unless told otherwise."""

from __future__ import annotations

import dataclasses

import pytest

from vqseg_core.cli.eval import UserError, _selection, build_parser
from vqseg_core.modelset import ModelSet


def _with_split(models: ModelSet, **data) -> ModelSet:
    members = tuple(
        dataclasses.replace(m, info={**m.info, "data": {**(m.info.get("data") or {}), **data}})
        for m in models
    )
    return ModelSet(models.name, members)


def _args(*extra: str):
    return build_parser().parse_args(["noise", "ds", "--out", "o", "--set", "x", *extra])


def test_the_exports_split_is_used_by_default(tiny_pair) -> None:
    models = _with_split(tiny_pair, split="parity")
    selection = _selection(_args(), [models])
    assert selection.method == "parity" and selection.split == "val"


def test_random_split_fraction_and_seed_come_from_the_export(tiny_pair) -> None:
    models = _with_split(tiny_pair, split="random", val_fraction=0.3, split_seed=7)
    selection = _selection(_args(), [models])
    assert (selection.method, selection.val_fraction, selection.split_seed) == ("random", 0.3, 7)


def test_flags_override_the_export(tiny_pair) -> None:
    models = _with_split(tiny_pair, split="parity")
    selection = _selection(_args("--split-method", "random", "--split-seed", "3"), [models])
    assert (selection.method, selection.split_seed) == ("random", 3)


def test_a_slice_split_scores_its_held_out_slabs(tiny_pair) -> None:
    models = _with_split(tiny_pair, split="slices", val_slices=["14:28", "55:83"])
    args = _args()
    selection = _selection(args, [models])
    assert selection.split == "all" and args.val_slices == ["14:28", "55:83"]


def test_models_trained_with_different_splits_need_a_flag(tiny_pair) -> None:
    a = _with_split(tiny_pair, split="parity")
    b = _with_split(tiny_pair.subset(["unet"], name="other"), split="random")
    with pytest.raises(UserError, match="different splits"):
        _selection(_args(), [a, b])
