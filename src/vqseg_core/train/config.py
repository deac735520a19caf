"""Training configuration: small frozen dataclasses, one per concern, read from YAML.

A config file has the sections ``model``, ``data``, ``optim``, ``schedule``, ``logging`` and
the top-level ``seed`` and ``precision``; any field can be overridden from the command line
with ``--set section.field=value`` (the value is parsed as YAML, so ``--set optim.lr=3e-4`` and
``--set data.image_size=[128,128]`` work). The resolved config is printed, saved in the output
folder and stored inside every checkpoint.

The ``data`` section is :class:`~vqseg_core.data.spec.DataConfig` (re-exported here): the data
spec of a model lives in :mod:`vqseg_core.data`, where evaluation and the pretrained pairs read it.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import Any

import yaml

from vqseg_core.data.spec import DataConfig, section_from_dict
from vqseg_core.models.config import ModelConfig

__all__ = [
    "PRECISIONS",
    "DataConfig",
    "LoggingConfig",
    "OptimConfig",
    "ScheduleConfig",
    "TrainConfig",
    "apply_overrides",
    "config_from_dict",
    "dump_config",
    "load_config",
]

PRECISIONS = ("auto", "fp32", "bf16")


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


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Build a :class:`TrainConfig` from nested dicts; unknown keys raise ``ValueError``."""
    data = dict(data)
    kwargs: dict[str, Any] = {}
    for section, cls in _SECTIONS.items():
        kwargs[section] = section_from_dict(cls, data.pop(section, None), section)
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
