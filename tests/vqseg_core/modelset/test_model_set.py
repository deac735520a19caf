"""Model sets: 1-6 members, keys from the set, ids, subsets, sets from exports, the pair API."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from vqseg_core.modelset import ModelSet, set_from_files
from vqseg_core.pretrained import ModelPair, load_pair_from_files


def _copy(member, key: str, name: str | None = None):
    return dataclasses.replace(member, key=key, name=name or key)


def test_a_set_takes_1_to_6_members_with_distinct_keys(tiny_pair) -> None:
    unet = tiny_pair.member("unet")
    assert ModelSet("one", (unet,)).keys == ("unet",)
    six = tuple(_copy(unet, f"m{i}") for i in range(6))
    assert len(ModelSet("six", six)) == 6
    with pytest.raises(ValueError, match="1-6"):
        ModelSet("seven", (*six, _copy(unet, "m6")))
    with pytest.raises(ValueError, match="1-6"):
        ModelSet("none", ())
    with pytest.raises(ValueError, match="distinct"):
        ModelSet("dup", (unet, unet))
    with pytest.raises(ValueError, match="model key"):
        _copy(unet, "Bad Key")


def test_keys_order_id_and_subset(tiny_pair) -> None:
    assert tiny_pair.keys == ("unet", "vqunet")
    sha = tiny_pair.sha256
    assert tiny_pair.id == f"tiny@{sha['unet'][:8]}-{sha['vqunet'][:8]}"  # the old pair_id
    sub = tiny_pair.subset(["vqunet", "unet"])
    assert sub.keys == ("vqunet", "unet")
    assert sub.id == f"tiny@{sha['vqunet'][:8]}-{sha['unet'][:8]}"
    with pytest.raises(KeyError, match="no model 'nope'"):
        tiny_pair.subset(["nope"])
    assert "unet" in tiny_pair and "nope" not in tiny_pair


def test_summary_is_json_and_names_every_member(tiny_pair) -> None:
    doc = json.loads(json.dumps(tiny_pair.summary()))
    assert [m["key"] for m in doc["models"]] == ["unet", "vqunet"]
    assert doc["classes"] == {"1": "ring", "2": "core"}


def test_set_from_files_keys_by_kind_and_by_file_when_kinds_repeat(tiny_pair_files) -> None:
    models = set_from_files([tiny_pair_files["unet"], tiny_pair_files["vqunet"]])
    assert models.keys == ("unet", "vqunet")
    assert [m.name for m in models] == ["UNet", "VQ-UNet"]
    twice = set_from_files([tiny_pair_files["vqunet"], tiny_pair_files["vqunet"]])
    assert len(set(twice.keys)) == 2
    assert len({m.colour for m in twice}) == 2


def test_mixed_dimensionality_is_refused(tiny_pair) -> None:
    from vqseg_core.data.preprocess import RECIPES

    unet = tiny_pair.member("unet")
    volume = dataclasses.replace(unet, key="vol", recipe=RECIPES["ct"])
    with pytest.raises(ValueError, match="different dimensionality"):
        ModelSet("mixed", (unet, volume))


def test_pair_api_of_earlier_versions_still_works(tiny_pair, tiny_pair_files) -> None:
    pair = load_pair_from_files(tiny_pair_files["unet"], tiny_pair_files["vqunet"])
    image = np.random.default_rng(0).random((64, 64)).astype(np.float32)
    masks = pair.predict(image, device="cpu")
    assert set(masks) == {"unet", "vqunet"} and masks["unet"].shape == image.shape
    built = ModelPair("again", pair.models, pair.recipe, pair.classes, pair.sha256)
    again = built.predict(image, device="cpu")
    assert all(np.array_equal(masks[k], again[k]) for k in masks)
    with pytest.raises(ValueError, match="UNet and a VQ-UNet"):
        load_pair_from_files(tiny_pair_files["vqunet"], tiny_pair_files["vqunet"])


def test_backend_notes_name_what_ran_the_label_passes(tiny_pair) -> None:
    tiny_pair = dataclasses.replace(tiny_pair, _predictors={})  # the fixture is shared
    assert tiny_pair.backend_notes() == []  # nothing ran yet
    tiny_pair.predict(np.random.default_rng(0).random((32, 32)).astype(np.float32), device="cpu")
    notes = tiny_pair.backend_notes()
    assert len(notes) == 1 and "torch" in notes[0]  # the suite runs eager torch (conftest)
