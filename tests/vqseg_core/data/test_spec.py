"""DataConfig: read from plain dicts (unknown keys named), and the recipe it names."""

from __future__ import annotations

import json
from dataclasses import asdict

import pytest

from vqseg_core.data.preprocess import get_recipe
from vqseg_core.data.spec import DataConfig, recipe_for


def test_from_dict_coerces_what_yaml_and_json_lose() -> None:
    config = DataConfig.from_dict(
        {
            "dataset": "/d",
            "image_size": [64, 64],
            "patch_size": [32, 32, 16],
            "labels": {"1": "lungs", "2": "heart"},
            "label_map": {"3": "2"},
            "val_cases": ["a", "b"],
            "augment": "flip",
            "val_fraction": 1,
        }
    )
    assert config.image_size == (64, 64) and config.patch_size == (32, 32, 16)
    assert config.labels == {1: "lungs", 2: "heart"} and config.label_map == {3: 2}
    assert config.val_cases == ("a", "b") and config.augment == ("flip",)
    assert isinstance(config.val_fraction, float)


def test_from_dict_round_trips_through_json() -> None:
    config = DataConfig(
        dataset="/abs",
        recipe="ct",
        patch_size=(8, 8, 4),
        labels={1: "a", 2: "b"},
        label_map={5: 1},
        split="ids",
        val_cases=("x",),
        augment=("flip", "noise"),
        max_cases=3,
    )
    assert DataConfig.from_dict(json.loads(json.dumps(asdict(config)))) == config


@pytest.mark.parametrize("data", [None, {}])
def test_from_dict_of_nothing_gives_the_defaults(data) -> None:
    assert DataConfig.from_dict(data) == DataConfig()


def test_from_dict_names_unknown_keys() -> None:
    with pytest.raises(ValueError, match=r"'data'.*\['patchsize', 'seed'\]"):
        DataConfig.from_dict({"patchsize": [8, 8], "seed": 1, "recipe": "ct"})


def test_the_training_config_is_made_of_this_data_config() -> None:
    from vqseg_core.train.config import DataConfig as TrainDataConfig
    from vqseg_core.train.config import TrainConfig, config_from_dict

    assert TrainDataConfig is DataConfig
    data = {"recipe": "ct", "labels": {"1": "x"}}
    assert config_from_dict({"data": data}).data == DataConfig.from_dict(data)
    assert TrainConfig().data == DataConfig()


def test_recipe_for_uses_image_size_as_the_target_shape() -> None:
    assert recipe_for(DataConfig(recipe="ct")) == get_recipe("ct")
    sized = recipe_for(DataConfig(recipe="chest_xray", image_size=(96, 64)))
    assert sized.target_shape == (96, 64) and sized.target_spacing is None
    assert sized == get_recipe("chest_xray").replace(target_shape=(96, 64), target_spacing=None)


def test_the_old_name_still_works() -> None:
    from vqseg_core.train.dataset import training_recipe

    assert training_recipe is recipe_for
