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
from vqseg_core.models.config import ModelConfig, drop_opt_in_defaults
from vqseg_core.train.config_check import (
    EXPORT_DTYPES,
    NAME,
    check_config,
    check_types,
    integer_at_least,
    number_in,
    require,
    show,
)

__all__ = [
    "EXPORT_DTYPES",
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

    def __post_init__(self) -> None:
        _check_fields(self, "optim")
        number_in("optim.lr", self.lr, 0, 1, low_open=True)
        number_in("optim.weight_decay", self.weight_decay, 0, 1)
        integer_at_least("optim.batch_size", self.batch_size, 1, 65536)
        if self.grad_clip is not None:
            number_in("optim.grad_clip", self.grad_clip, 0, 1e6, low_open=True)


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

    def __post_init__(self) -> None:
        _check_fields(self, "schedule")
        integer_at_least("schedule.steps", self.steps, 1, 10**9)
        integer_at_least("schedule.val_every", self.val_every, 1)
        integer_at_least("schedule.checkpoint_every", self.checkpoint_every, 1)
        if self.checkpoint_minutes is not None:
            number_in("schedule.checkpoint_minutes", self.checkpoint_minutes, 0, 1e6, low_open=True)


@dataclass(frozen=True)
class LoggingConfig:
    """Output options: export dtype of the final weights and the progress bar."""

    export_dtype: str = "float16"
    progress: bool = True

    def __post_init__(self) -> None:
        _check_fields(self, "logging")
        require(
            "logging.export_dtype", self.export_dtype, self.export_dtype in EXPORT_DTYPES,
            f"one of {EXPORT_DTYPES}",
        )  # fmt: skip


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
    init_from: str | None = None  # weights to start from: a file or "SET/KEY" (train/init_from)

    def __post_init__(self) -> None:
        require("precision", self.precision, self.precision in PRECISIONS, f"one of {PRECISIONS}")
        integer_at_least("seed", self.seed, 0, 2**32 - 1)
        ok = isinstance(self.name, str) and NAME.fullmatch(self.name) is not None
        require("name", self.name, ok, f"a plain file name ({NAME.pattern})")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (tuples become lists, label keys stay ints in YAML, strings in JSON).

        Opt-in keys added since (e.g. ``model.stem``) are left out while they hold their
        defaults, so an existing config resolves, dumps and resumes exactly as before.
        """
        d = _plain(dataclasses.asdict(self))
        d["model"] = drop_opt_in_defaults(d["model"])
        if d["init_from"] is None:  # opt-in: configs without it dump as before
            del d["init_from"]
        return d


_SECTIONS: dict[str, type] = {
    "model": ModelConfig,
    "data": DataConfig,
    "optim": OptimConfig,
    "schedule": ScheduleConfig,
    "logging": LoggingConfig,
}


def _check_fields(section: Any, name: str) -> None:
    """Check a section's values against its field types (a whole float becomes an int)."""
    values = {f.name: getattr(section, f.name) for f in fields(section)}
    check_types(type(section), values, name)
    for f in fields(section):
        value = values[f.name]
        if str(f.type).startswith("int") and isinstance(value, float):
            object.__setattr__(section, f.name, int(value))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def config_from_dict(data: dict[str, Any]) -> TrainConfig:
    """Build a :class:`TrainConfig` from nested dicts.

    Raises:
        ValueError: an unknown key, a section that is not a mapping, or a value of the wrong
            type or out of range (the message names the key and the value).
    """
    if not isinstance(data, dict):
        raise ValueError(f"a config must be a mapping of sections, got {show(data)}")
    data = dict(data)
    kwargs: dict[str, Any] = {}
    for section, cls in _SECTIONS.items():
        values = data.pop(section, None)
        if values is not None and not isinstance(values, dict):
            raise ValueError(
                f"config section {section!r} must be a mapping of keys to values, "
                f"got {type(values).__name__} {show(values)}"
            )
        check_types(cls, values or {}, section)
        try:
            kwargs[section] = section_from_dict(cls, values, section)
        except (TypeError, ValueError) as exc:
            text = str(exc)
            if text.startswith(f"{section}.") or "config section" in text:
                raise
            raise ValueError(f"{section}.{text}" if text.split()[0] in cls.__dataclass_fields__
                             else f"config section {section!r}: {text}") from None  # fmt: skip
    top = {f.name for f in fields(TrainConfig)} - set(_SECTIONS)
    unknown = sorted(set(data) - top, key=str)
    if unknown:
        raise ValueError(f"unknown top-level config keys: {unknown}")
    check_types(TrainConfig, data, "")
    return TrainConfig(**kwargs, **data)


def apply_overrides(data: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """Apply ``section.key=value`` overrides (values parsed as YAML) to a nested config dict."""
    data = {k: dict(v) if isinstance(v, dict) else v for k, v in data.items()}
    for item in overrides:
        key, sep, raw = item.partition("=")
        parts = key.strip().split(".")
        if not sep or not all(p.strip() for p in parts):
            raise ValueError(f"override must look like section.key=value, got {show(item)}")
        parts = [p.strip() for p in parts]
        try:
            value = yaml.safe_load(raw) if raw else None
        except (yaml.YAMLError, ValueError) as exc:
            text = " ".join(str(exc).split())
            raise ValueError(f"override {show(item)}: value is not valid YAML ({text})") from None
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
    """Read a YAML config (a file, or a bundled config's name such as ``"smoke"``: see
    :mod:`~vqseg_core.train.bundled_configs`), apply overrides, resolve a relative
    ``data.dataset`` against the file's folder (a named config: ``./configs/``), and a relative
    ``init_from`` weights file against the file's folder (given by an override: the working
    directory)."""
    from vqseg_core.train.bundled_configs import resolve_config

    path, base = resolve_config(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError, ValueError, UnicodeDecodeError) as exc:
        text = " ".join(str(exc).split())
        raise ValueError(f"cannot read config {path}: {text}") from None
    if not isinstance(data, dict):
        raise ValueError(f"config {path} must be a mapping of sections")
    init_in_file = data.get("init_from")
    data = apply_overrides(data, overrides or [])
    section = data.get("data")
    dataset = section.get("dataset") if isinstance(section, dict) else None
    if (
        isinstance(dataset, str) and dataset
        and not Path(dataset).is_absolute() and not dataset.startswith("sample:")
    ):  # fmt: skip
        section["dataset"] = str((base / dataset).resolve())
    init = data.get("init_from")
    # a relative weights file: from the config's folder when the file names it (like
    # data.dataset), from the working directory when --set gives it
    if isinstance(init, str) and Path(init).suffix in (".json", ".safetensors") and not (
        Path(init).is_absolute()
    ):
        origin = base if init == init_in_file else Path.cwd()
        data["init_from"] = str((origin / init).resolve())
    try:
        config = config_from_dict(data)
        check_config(config)
    except ValueError as exc:
        raise ValueError(f"config {path}: {exc}") from None
    return config


def dump_config(config: TrainConfig) -> str:
    """The config as YAML text (what :func:`load_config` reads back)."""
    return yaml.safe_dump(config.to_dict(), sort_keys=False)
