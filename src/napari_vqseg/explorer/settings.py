"""What the user chose in the Robustness Explorer, as one frozen, JSON-able object.

The controls, ``vqseg-demo`` and the tests all describe a run with :class:`ExplorerSettings`;
the session (:mod:`napari_vqseg.explorer.session`) turns it into a
:class:`~vqseg_core.engine.RunRequest`. Nothing here checks the corruption: the
:class:`~vqseg_core.perturb.Corruption` inside the request is the one validation of kind, level
and seed.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass, field, replace
from typing import Any

FROM_FILES = "From files..."
"""The models choice that means "only the export files in ``model_files``"."""

SETTINGS_VERSION = 2
"""Version 1 (a UNet / VQ-UNet pair: ``pair``, ``pair_files``) is read as well."""

BOTTLENECK = "bottleneck"
"""The latent shown by default (the engine's name of the deepest latent)."""

_RENAMED = {"pair": "models", "pair_files": "model_files"}  # version 1 -> 2

CACHE_MIB_ENV = "VQSEG_EXPLORER_CACHE_MIB"
"""Environment variable: the default of :attr:`ExplorerSettings.cache_mib` (else 2048)."""


def _default_cache_mib() -> int:
    """``$VQSEG_EXPLORER_CACHE_MIB`` as a whole number of MiB, else 2048."""
    text = os.environ.get(CACHE_MIB_ENV, "").strip()
    try:
        return max(0, int(text)) if text else 2048
    except ValueError:
        return 2048


@dataclass(frozen=True)
class ExplorerSettings:
    """Everything the user chose; the explorer view can be restored from it.

    Attributes:
        models: a bundled model set name, the name of a set offered in memory, or
            :data:`FROM_FILES`.
        model_files: ``vqseg-train`` exports (``.json`` or ``.safetensors``): the whole set with
            :data:`FROM_FILES`, else added after the named set's models.
        keys: the member keys to compare, in order (2-6); ``None``: all of the set (at most 6).
        reference: the member key others are compared with (``None``: the first chosen).
        latent: which latent's maps are shown (``"bottleneck"``, ``"skip0"``, ...).
        kind: corruption kind (a key of :data:`vqseg_core.perturb.REGISTRY`).
        level: corruption level in the kind's units (validated by the request's corruption).
        seed: seed of noise draw 0 (draw d uses ``seed + d``).
        n_draws: number of noise draws for latent variance and code flips.
        device: ``"cpu"``, ``"cuda"`` or ``"mps"``.
        image_layer: name of the image layer analysed.
        gt_layer: name of the ground-truth Labels layer, or ``None``.
        side_by_side: grid mode, one panel per model, linked cameras.
        cache_mib: memory for remembered results, in MiB (2**20 bytes; default 2048, or
            ``$VQSEG_EXPLORER_CACHE_MIB``). Each result (masks, latent maps, the corrupted
            image) is kept so that revisiting a setting is instant; beyond this bound (and
            beyond 24 results) the least recently used are forgotten. A 512 x 512 x 300 CT's
            result takes several hundred MiB; one larger than the bound is not kept; 0 keeps
            none. Results are keyed by a hash of the whole image and ground truth, so any edit
            of either is recomputed.
    """

    models: str = ""
    model_files: tuple[str, ...] = ()
    keys: tuple[str, ...] | None = None
    reference: str | None = None
    latent: str = BOTTLENECK
    kind: str = "gaussian"
    level: float = 10.0
    seed: int = 0
    n_draws: int = 4
    device: str = "cpu"
    image_layer: str | None = None
    gt_layer: str | None = None
    side_by_side: bool = True
    cache_mib: int = field(default_factory=_default_cache_mib)

    def __post_init__(self) -> None:
        if isinstance(self.cache_mib, bool) or int(self.cache_mib) != self.cache_mib:
            raise ValueError(f"cache_mib must be a whole number of MiB, got {self.cache_mib!r}")
        if self.cache_mib < 0:
            raise ValueError(f"cache_mib must be >= 0, got {self.cache_mib}")
        object.__setattr__(self, "cache_mib", int(self.cache_mib))
        object.__setattr__(self, "model_files", tuple(str(p) for p in self.model_files or ()))
        if self.keys is not None:
            object.__setattr__(self, "keys", tuple(str(k) for k in self.keys))

    def with_(self, **changes: Any) -> ExplorerSettings:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (see :meth:`from_dict`)."""
        data = asdict(self)
        data["model_files"] = list(self.model_files)
        data["keys"] = None if self.keys is None else list(self.keys)
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExplorerSettings:
        """Inverse of :meth:`to_dict`; also reads version 1 files (``pair``, ``pair_files``).

        Raises:
            ValueError: unknown keys (named).
        """
        values = {_RENAMED.get(k, k): v for k, v in data.items()}
        unknown = sorted(set(values) - set(cls.__dataclass_fields__))
        if unknown:
            raise ValueError(f"unknown explorer settings: {unknown}")
        values["model_files"] = tuple(values.get("model_files") or ())
        return cls(**values)
