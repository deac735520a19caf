"""A frozen, JSON-able description of a network, and the one function that builds it.

Training configs, checkpoints and the bundled pretrained pairs store a :class:`ModelConfig`
as a plain dict; :func:`build_model` turns it back into a module.
"""

from __future__ import annotations

import numbers
from dataclasses import asdict, dataclass, fields
from typing import Any

from vqseg_core.models.budget import check_model_budget
from vqseg_core.models.unet import UNet
from vqseg_core.models.vq_skip_unet import VQSkipUNet
from vqseg_core.models.vq_unet import VQUNet

MODEL_KINDS = ("unet", "vqunet", "vqskip")
MAX_CODEBOOK_SIZE = 2**20
OPT_IN_DEFAULTS: dict[str, Any] = {"stem": "full"}
"""Model keys added as opt-in options: written only when they differ from these defaults."""
"""The largest codebook a config may ask for (a million codes; the paper's is 1,024)."""

CODEBOOK_PRESETS: dict[str, dict[str, Any]] = {
    "healthy": {"cosine": True, "dead_code_threshold": 0.25},
}
"""Named quantiser settings. ``healthy``: the cosine (unit-hypersphere) codebook with dead-code
restarts below 0.25 assignments per batch, which kept 825 of 1,024 codes in use over the
held-out JSRT set where the shipped settings kept 16 (docs/results/codebook-health)."""


@dataclass(frozen=True)
class ModelConfig:
    """Architecture of a UNet, VQ-UNet or VQ-UNet with quantised skips (``kind="vqskip"``).

    The VQ fields are ignored for ``kind="unet"``, ``skip_codebook_size`` and
    ``quantized_skips`` (empty: every skip level) for every kind but ``"vqskip"``.
    ``codebook_preset`` names settings from :data:`CODEBOOK_PRESETS`; they replace the
    fields they name. ``stem`` (``"full"``, the default, or ``"lean"``: see
    :data:`~vqseg_core.models.unet.STEMS`) is left out of :meth:`to_dict` at its default, so
    the configs and exports of every existing model read and write exactly as before.
    """

    kind: str = "vqunet"
    spatial_dims: int = 2
    in_channels: int = 1
    out_channels: int = 2
    channels: tuple[int, ...] = (16, 32, 64, 128, 256)
    num_res_blocks: int = 1
    norm_groups: int = 8
    upsample: str = "nearest"
    codebook_size: int = 1024
    codebook_dim: int = 256
    beta: float = 0.25
    beta_on: str = "codebook"
    codebook_init: str = "uniform"
    ema_decay: float | None = None
    dead_code_threshold: float | None = None
    cosine: bool = False
    positional_encoding: str = "none"
    codebook_preset: str | None = None
    skip_codebook_size: int = 256
    quantized_skips: tuple[int, ...] = ()
    stem: str = "full"

    def __post_init__(self) -> None:
        if self.kind not in MODEL_KINDS:
            raise ValueError(f"kind must be one of {MODEL_KINDS}, got {self.kind!r}")
        object.__setattr__(self, "channels", _whole_numbers("channels", self.channels))
        object.__setattr__(
            self, "quantized_skips", _whole_numbers("quantized_skips", self.quantized_skips)
        )
        if len(self.channels) < 2:
            raise ValueError(f"channels needs at least 2 levels, got {list(self.channels)}")
        if not _int_in(self.out_channels, 2, 2**16):
            raise ValueError(
                f"out_channels must be an integer >= 2 (background and at least one class), "
                f"got {self.out_channels!r}"
            )
        for name in ("codebook_size", "skip_codebook_size"):
            value = getattr(self, name)
            if not _int_in(value, 2, MAX_CODEBOOK_SIZE):
                raise ValueError(
                    f"{name} must be an integer from 2 to {MAX_CODEBOOK_SIZE}, got {value!r}"
                )
        if self.codebook_preset is not None:
            if self.codebook_preset not in CODEBOOK_PRESETS:
                raise ValueError(
                    f"unknown codebook_preset {self.codebook_preset!r}; "
                    f"known: {', '.join(CODEBOOK_PRESETS)}"
                )
            for key, value in CODEBOOK_PRESETS[self.codebook_preset].items():
                object.__setattr__(self, key, value)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (tuples become lists)."""
        d = asdict(self)
        d["channels"] = list(self.channels)
        d["quantized_skips"] = list(self.quantized_skips)
        return drop_opt_in_defaults(d)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ModelConfig:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` naming them."""
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown model config keys: {unknown}")
        return cls(**data)


def drop_opt_in_defaults(d: dict[str, Any]) -> dict[str, Any]:
    """``d`` (a model config dict) without the opt-in keys that hold their defaults."""
    return {k: v for k, v in d.items() if k not in OPT_IN_DEFAULTS or v != OPT_IN_DEFAULTS[k]}


def _int_in(value: object, low: int, high: int) -> bool:
    return (
        isinstance(value, numbers.Integral) and not isinstance(value, bool) and low <= value <= high
    )


def _whole_numbers(name: str, values: object) -> tuple[int, ...]:
    """``values`` (a list or tuple of whole numbers) as a tuple of ints."""
    items = values if isinstance(values, list | tuple) else None
    good = items is not None and all(
        not isinstance(v, bool)
        and (isinstance(v, numbers.Integral) or (isinstance(v, float) and v.is_integer()))
        for v in items
    )
    if not good:
        raise ValueError(f"{name} must be a list of whole numbers, got {values!r}")
    return tuple(int(v) for v in items)  # type: ignore[union-attr]


def build_model(config: ModelConfig) -> UNet:
    """Build the :class:`UNet`, :class:`VQUNet` or :class:`VQSkipUNet` described by ``config``.

    Raises:
        MemoryBudgetError: (a ``ValueError``) the network's weights alone would exceed the
            memory budget (:mod:`vqseg_core.models.budget`); checked before anything is built.
    """
    check_model_budget(config)  # hostile-input guard: refuse before allocating
    common = dict(
        spatial_dims=config.spatial_dims,
        in_channels=config.in_channels,
        out_channels=config.out_channels,
        channels=config.channels,
        num_res_blocks=config.num_res_blocks,
        norm_groups=config.norm_groups,
        upsample=config.upsample,
        stem=config.stem,
    )
    if config.kind == "unet":
        return UNet(**common)
    vq = dict(
        codebook_size=config.codebook_size,
        codebook_dim=config.codebook_dim,
        beta=config.beta,
        beta_on=config.beta_on,
        codebook_init=config.codebook_init,
        ema_decay=config.ema_decay,
        dead_code_threshold=config.dead_code_threshold,
        cosine=config.cosine,
        positional_encoding=config.positional_encoding,
    )
    if config.kind == "vqskip":
        return VQSkipUNet(
            **common,
            **vq,
            skip_codebook_size=config.skip_codebook_size,
            quantized_skips=config.quantized_skips,
        )
    return VQUNet(**common, **vq)
