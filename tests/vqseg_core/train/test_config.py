"""TrainConfig: YAML round trip, --set overrides, unknown keys, relative dataset paths."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from vqseg_core.models.config import ModelConfig
from vqseg_core.train.config import (
    DataConfig,
    LoggingConfig,
    OptimConfig,
    ScheduleConfig,
    TrainConfig,
    apply_overrides,
    config_from_dict,
    dump_config,
    load_config,
)


def _full_config(dataset: str) -> TrainConfig:
    """A config with a non-default value in every section (tuples, dicts and None included)."""
    return TrainConfig(
        model=ModelConfig(
            kind="vqunet",
            spatial_dims=3,
            out_channels=3,
            channels=(8, 16, 32),
            norm_groups=4,
            codebook_size=64,
            codebook_dim=16,
            codebook_init="kmeans",
            ema_decay=0.9,
            dead_code_threshold=0.01,
        ),
        data=DataConfig(
            dataset=dataset,
            recipe="prostate_mri",
            image_size=None,
            patch_size=(32, 32, 16),
            labels={1: "peripheral", 2: "transition"},
            label_map={3: 2},
            val_cases=("a", "b"),
            augment=("flip", "noise"),
            foreground_fraction=0.7,
            max_cases=5,
        ),
        optim=OptimConfig(lr=3e-4, weight_decay=0.0, batch_size=2, grad_clip=1.0),
        schedule=ScheduleConfig(steps=7, val_every=3, checkpoint_every=2, checkpoint_minutes=None),
        logging=LoggingConfig(export_dtype="float32", progress=False),
        seed=7,
        precision="bf16",
        name="prostate_vq",
    )


def _write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_yaml_round_trip_gives_back_the_same_config(tmp_path: Path) -> None:
    config = _full_config(str(tmp_path / "data"))
    path = _write(tmp_path / "run.yaml", dump_config(config))
    assert load_config(path) == config


def test_json_round_trip_of_to_dict_gives_back_the_same_config() -> None:
    config = _full_config("/abs/data")
    again = config_from_dict(json.loads(json.dumps(config.to_dict())))
    assert again == config
    assert isinstance(again.data.patch_size, tuple) and isinstance(again.model.channels, tuple)
    assert again.data.labels == {1: "peripheral", 2: "transition"}


def test_defaults_round_trip(tmp_path: Path) -> None:
    config = TrainConfig(data=DataConfig(dataset="sample:chest"))
    path = _write(tmp_path / "run.yaml", dump_config(config))
    assert load_config(path) == config


def test_set_overrides_parse_values_as_yaml(tmp_path: Path) -> None:
    path = _write(tmp_path / "run.yaml", dump_config(TrainConfig(data=DataConfig(dataset="/d"))))
    config = load_config(
        path,
        [
            "optim.lr=3e-4",  # YAML 1.1 reads this as a string: it must still become a float
            "data.image_size=[128,128]",
            "data.augment=[flip, intensity]",
            "model.channels=[8,16]",
            "schedule.checkpoint_minutes=null",
            "seed=3",
            "name=second",
        ],
    )
    assert config.optim.lr == pytest.approx(3e-4) and isinstance(config.optim.lr, float)
    assert config.data.image_size == (128, 128)
    assert config.data.augment == ("flip", "intensity")
    assert config.model.channels == (8, 16)
    assert config.schedule.checkpoint_minutes is None
    assert config.seed == 3 and config.name == "second"


def test_overrides_create_missing_sections_and_leave_the_input_alone() -> None:
    original = {"optim": {"lr": 1e-4}}
    result = apply_overrides(original, ["optim.lr=0.5", "schedule.steps=9"])
    assert result == {"optim": {"lr": 0.5}, "schedule": {"steps": 9}}
    assert original == {"optim": {"lr": 1e-4}}


def test_override_into_an_empty_section(tmp_path: Path) -> None:
    path = _write(tmp_path / "run.yaml", "optim:\nschedule:\n  steps: 5\n")
    config = load_config(path, ["optim.lr=0.01"])
    assert config.optim.lr == 0.01 and config.schedule.steps == 5


@pytest.mark.parametrize("override", ["optim.lr", "=3", "a.b.c=1", "seed.x=1", "optim.lr=[1,"])
def test_malformed_overrides_raise_value_error(override: str) -> None:
    with pytest.raises(ValueError, match="override"):
        apply_overrides({"seed": 1}, [override])


def test_unknown_section_keys_are_named() -> None:
    with pytest.raises(ValueError, match=r"'optim'.*\['learning_rate', 'momentum'\]"):
        config_from_dict({"optim": {"learning_rate": 1.0, "momentum": 0.9, "lr": 1e-3}})


def test_unknown_model_keys_are_named() -> None:
    with pytest.raises(ValueError, match="codebook_sise"):
        config_from_dict({"model": {"codebook_sise": 8}})


def test_unknown_top_level_keys_are_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "run.yaml", "seed: 1\nepochs: 3\n")
    with pytest.raises(ValueError, match=r"\['epochs'\]"):
        load_config(path)


def test_unknown_key_given_by_override_is_named(tmp_path: Path) -> None:
    path = _write(tmp_path / "run.yaml", "seed: 1\n")
    with pytest.raises(ValueError, match="patchsize"):
        load_config(path, ["data.patchsize=[64,64]"])


def test_relative_dataset_is_resolved_against_the_config_folder(tmp_path: Path) -> None:
    path = _write(tmp_path / "configs" / "run.yaml", "data:\n  dataset: ../datasets/lungs\n")
    config = load_config(path)
    assert config.data.dataset == str((tmp_path / "datasets" / "lungs").resolve())


@pytest.mark.parametrize("dataset", ["sample:chest_xray", "/somewhere/else"])
def test_absolute_and_sample_datasets_are_kept(tmp_path: Path, dataset: str) -> None:
    path = _write(tmp_path / "configs" / "run.yaml", f"data:\n  dataset: {dataset}\n")
    assert load_config(path).data.dataset == dataset


def test_relative_dataset_given_by_override_is_resolved_too(tmp_path: Path) -> None:
    path = _write(tmp_path / "configs" / "run.yaml", "seed: 1\n")
    config = load_config(path, ["data.dataset=cases.csv"])
    assert config.data.dataset == str((tmp_path / "configs" / "cases.csv").resolve())


@pytest.mark.parametrize("text", ["[1, 2]\n", "model: {kind: unet\n"])
def test_unreadable_or_non_mapping_config_raises_value_error(tmp_path: Path, text: str) -> None:
    path = _write(tmp_path / "run.yaml", text)
    with pytest.raises(ValueError, match=r"run\.yaml"):
        load_config(path)


def test_missing_config_file_raises_value_error(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot read config"):
        load_config(tmp_path / "absent.yaml")


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"precision": "fp16"}, "precision"),
        ({"schedule": {"steps": 0}}, "schedule.steps"),
        ({"optim": {"batch_size": 0}}, "batch_size"),
    ],
)
def test_bad_values_raise_value_error(changes: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        config_from_dict(changes)


def test_dumped_yaml_is_plain_safe_yaml() -> None:
    text = dump_config(_full_config("/abs"))
    data = yaml.safe_load(text)
    assert set(data) == {
        "model",
        "data",
        "optim",
        "schedule",
        "logging",
        "seed",
        "precision",
        "name",
    }
    assert data["data"]["patch_size"] == [32, 32, 16]
    assert data["data"]["labels"] == {1: "peripheral", 2: "transition"}
