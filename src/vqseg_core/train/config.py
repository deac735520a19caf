"""Training configuration: small frozen dataclasses, one per concern, read from YAML.

A config file has the sections ``model``, ``data``, ``optim``, ``schedule``, ``logging`` and
the top-level ``seed`` and ``precision``; any field can be overridden from the command line
with ``--set section.field=value`` (the value is parsed as YAML, so ``--set optim.lr=3e-4`` and
``--set data.image_size=[128,128]`` work). The resolved config is printed, saved in the output
folder and stored inside every checkpoint.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from vqseg_core.models.config import ModelConfig

PRECISIONS = ("auto", "fp32", "bf16")


@dataclass(frozen=True)
class DataConfig:
    """Where the data comes from and how it becomes batches.

    Attributes:
        dataset: a dataset folder (paired folders, MSD/nnU-Net raw) or a CSV; relative paths
            are resolved against the config file's folder.
        recipe: preprocessing recipe name (see :mod:`vqseg_core.data.preprocess`).
        image_size: model input size for 2D images (H, W); ``None`` keeps the recipe's size.
        patch_size: random crop size for training (3D patches, or 2D crops); ``None`` = whole image.
        slices: for ``spatial_dims=2`` on volumes, train on axial slices (last axis).
        labels: label value -> name (background 0 is implied).
        label_map: optional remapping of dataset label values before training (e.g. merge
            classes), as ``{source_value: target_value}``.
        split: ``"random"`` (``val_fraction`` of the cases, from ``split_seed``), ``"parity"``
            (the JSRT convention: odd case numbers train, even validate), ``"ids"``
            (``val_cases`` validate), or ``"slices"`` (one volume: the axial slice ranges in
            ``val_slices`` validate, the others train; needs ``slices=True``).
        val_fraction: fraction of cases held out for validation with ``split="random"``.
        val_cases: validation case ids for ``split="ids"``.
        val_slices: ``"start:stop"`` axial slice ranges for ``split="slices"``, counted on the
            model grid (after the recipe's resampling). 2D models train on single slices;
            3D models on the contiguous runs of training slices (validation on the held runs).
        split_seed: seed of the case-level split.
        augment: augmentation names applied on the fly (disclosed in the outputs):
            ``flip`` (left-right), ``intensity`` (random gamma and contrast), ``noise``
            (Gaussian, sd 0.05, as the authors' prostate training), ``bias_field``.
        foreground_fraction: share of 3D patches centred on a foreground voxel.
        max_cases: use at most this many cases (quick runs); ``None`` = all.
    """

    dataset: str = ""
    recipe: str = "chest_xray"
    image_size: tuple[int, ...] | None = None
    patch_size: tuple[int, ...] | None = None
    slices: bool = False
    labels: dict[int, str] = field(default_factory=lambda: {1: "foreground"})
    label_map: dict[int, int] | None = None
    split: str = "random"
    val_fraction: float = 0.2
    val_cases: tuple[str, ...] = ()
    val_slices: tuple[str, ...] = ()
    split_seed: int = 42
    augment: tuple[str, ...] = ()
    foreground_fraction: float = 0.5
    max_cases: int | None = None


@dataclass(frozen=True)
class OptimConfig:
    """AdamW with the paper's defaults (lr 1e-4, weight decay 1e-5, no schedule)."""

    lr: float = 1e-4
    weight_decay: float = 1e-5
    batch_size: int = 4
    grad_clip: float | None = None


@dataclass(frozen=True)
class ScheduleConfig:
    """How long to train and how often to validate and save.

    Attributes:
        steps: optimisation steps in all.
        val_every: validate every this many steps (and at the end).
        checkpoint_every: save the latest checkpoint every this many steps.
        checkpoint_minutes: also save when this many minutes passed since the last save.
    """

    steps: int = 1000
    val_every: int = 100
    checkpoint_every: int = 50
    checkpoint_minutes: float | None = 10.0


@dataclass(frozen=True)
class LoggingConfig:
    """Output options: export dtype of the final weights and the progress bar."""

    export_dtype: str = "float16"
    progress: bool = True


@dataclass(frozen=True)
class TrainConfig:
    """Everything a training run needs; JSON/YAML round-trippable."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    optim: OptimConfig = field(default_factory=OptimConfig)
    schedule: ScheduleConfig = field(default_factory=ScheduleConfig)
    logging: LoggingConfig = field(default_factory=LoggingConfig)
    seed: int = 42
    precision: str = "auto"
    name: str = "run"

    def __post_init__(self) -> None:
        if self.precision not in PRECISIONS:
            raise ValueError(f"precision must be one of {PRECISIONS}, got {self.precision!r}")
        if self.schedule.steps < 1:
            raise ValueError(f"schedule.steps must be >= 1, got {self.schedule.steps}")
        if self.optim.batch_size < 1:
            raise ValueError(f"optim.batch_size must be >= 1, got {self.optim.batch_size}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (tuples become lists, label keys stay ints in YAML, strings in JSON)."""
        return _plain(dataclasses.asdict(self))


_SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "data": DataConfig,
    "optim": OptimConfig,
    "schedule": ScheduleConfig,
    "logging": LoggingConfig,
}


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def _coerce(cls: type, name: str, value: Any) -> Any:
    hint = {f.name: f.type for f in fields(cls)}[name]
    if value is None:
        return None
    text = str(hint)
    if "tuple" in text:
        return tuple(value) if isinstance(value, list | tuple) else (value,)
    if name == "labels":
        return {int(k): str(v) for k, v in dict(value).items()}
    if name == "label_map":
        return {int(k): int(v) for k, v in dict(value).items()}
    if text.startswith("float") and isinstance(value, int | float | str):
        return float(value)
    return value


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Build a :class:`TrainConfig` from nested dicts; unknown keys raise ``ValueError``."""
    data = dict(data)
    kwargs: dict[str, Any] = {}
    for section, cls in _SECTIONS.items():
        values = dict(data.pop(section, None) or {})
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(values) - known)
        if unknown:
            raise ValueError(f"unknown keys in config section {section!r}: {unknown}")
        kwargs[section] = cls(**{k: _coerce(cls, k, v) for k, v in values.items()})
    top = {f.name for f in fields(TrainConfig)} - set(_SECTIONS)
    unknown = sorted(set(data) - top)
    if unknown:
        raise ValueError(f"unknown top-level config keys: {unknown}")
    return TrainConfig(**kwargs, **data)


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (values parsed as YAML) to a nested config dict."""
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for item in overrides:
        key, sep, raw = item.partition("=")
        if not sep or not key:
            raise ValueError(f"override must look like section.key=value, got {item!r}")
        try:
            value = yaml.safe_load(raw) if raw else None
        except yaml.YAMLError as exc:
            raise ValueError(f"override {item!r}: value is not valid YAML ({exc})") from exc
        parts = key.strip().split(".")
        if len(parts) == 1:
            data[parts[0]] = value
        elif len(parts) == 2:
            section = data.get(parts[0])
            if section is None:  # absent, or an empty section in the YAML file
                section = data[parts[0]] = {}
            if not isinstance(section, dict):
                raise ValueError(f"override {item!r}: {parts[0]!r} is not a config section")
            section[parts[1]] = value
        else:
            raise ValueError(f"override keys have at most one dot, got {key!r}")
    return data


def load_config(path: str | Path, overrides: list[str] | None = None) -> TrainConfig:
    """Read a YAML config, apply overrides, resolve ``data.dataset`` against the file's folder."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ValueError(f"cannot read config {path}: {exc}") from exc
    if not isinstance(data, dict):
        raise ValueError(f"config {path} must be a mapping of sections")
    data = apply_overrides(data, overrides or [])
    dataset = (data.get("data") or {}).get("dataset")
    if dataset and not Path(str(dataset)).is_absolute() and not str(dataset).startswith("sample:"):
        data["data"]["dataset"] = str((path.parent / str(dataset)).resolve())
    return config_from_dict(data)


def dump_config(config: TrainConfig) -> str:
    """The config as YAML text (what :func:`load_config` reads back)."""
    return yaml.safe_dump(config.to_dict(), sort_keys=False)
