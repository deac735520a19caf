"""The registry of bundled model sets (``weights/registry.json``); no network access, ever.

Each set lists its members in display order: key, display name, kind, colour, the export
file (``NAME.json`` + ``NAME.safetensors`` in ``weights/``) and its sha256 (checked again at
load, against the registry as well as the JSON), plus the modality it is for, the data it was
trained on and the caveats of its held-out metrics. Reading the registry imports no torch.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WEIGHTS_DIR = Path(__file__).parent / "weights"
REGISTRY = WEIGHTS_DIR / "registry.json"


@dataclass(frozen=True)
class SetInfo:
    """One registry entry.

    Attributes:
        name: e.g. ``"chest-xray"``.
        description: one line.
        members: per member, in order: ``{"key", "name", "kind", "colour", "file", "sha256"}``.
        details: training data, licence notes, held-out metrics and caveats.
        modality: what images the set is for (``"xray"``, ``"ct"``, ``"mri"``), or ``""``.
    """

    name: str
    description: str
    members: tuple[dict[str, str], ...]
    details: dict[str, Any]
    modality: str = ""

    @property
    def keys(self) -> tuple[str, ...]:
        """Member keys in order."""
        return tuple(m["key"] for m in self.members)

    @property
    def files(self) -> dict[str, str]:
        """``{key: export JSON file name}``."""
        return {m["key"]: m["file"] for m in self.members}

    @property
    def sha256(self) -> dict[str, str]:
        """``{key: expected sha256 of the weight file}``."""
        return {m["key"]: m["sha256"] for m in self.members}


PairInfo = SetInfo
"""The name earlier versions used for a registry entry (kept for existing code)."""


def _entries() -> dict[str, SetInfo]:
    if not REGISTRY.exists():
        return {}
    raw = json.loads(REGISTRY.read_text(encoding="utf-8"))
    return {
        name: SetInfo(
            name, e.get("description", ""), tuple(e["members"]), e.get("details", {}),
            e.get("modality", ""),
        )
        for name, e in raw.get("sets", {}).items()
    }  # fmt: skip


def list_sets() -> list[str]:
    """Names of the bundled model sets."""
    return sorted(_entries())


def set_info(name: str) -> SetInfo:
    """The registry entry of ``name`` (``ValueError`` listing the known names otherwise)."""
    entries = _entries()
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise ValueError(f"unknown model set {name!r}; bundled sets: {known}")
    return entries[name]


def load_set(name: str, keys: list[str] | tuple[str, ...] | None = None):
    """Load the bundled set ``name`` (sha256 checked against the registry and the JSON).

    Args:
        name: a name from :func:`list_sets`.
        keys: load only these members, in this order (default: all).

    Returns:
        A :class:`~vqseg_core.modelset.ModelSet`.

    Raises:
        ValueError: an unknown set or member key.
        CheckpointError: a weight file that is missing, corrupt or not the registry's.
    """
    from dataclasses import replace

    from vqseg_core.checkpoint import CheckpointError
    from vqseg_core.modelset import ModelSet, member_from_export

    entry = set_info(name)
    chosen = entry.members if keys is None else tuple(_pick(entry, k) for k in keys)
    members = []
    for i, spec in enumerate(chosen):
        path = WEIGHTS_DIR / spec["file"]
        meta = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if meta.get("sha256") != spec["sha256"]:
            raise CheckpointError(path, f"sha256 differs from the registry's entry for {name!r}")
        member = member_from_export(
            path, key=spec["key"], name=spec.get("name"), colour=spec.get("colour"), position=i
        )
        info = {**member.info, "kind": spec.get("kind")}
        if spec.get("ood"):  # the typicality reference fitted on the training images
            from vqseg_core.analysis.ood import FeatureReference

            info["ood"] = FeatureReference.load(WEIGHTS_DIR / spec["ood"])
        members.append(replace(member, info=info))
    return ModelSet(name, tuple(members), dict(entry.details))


def _pick(entry: SetInfo, key: str) -> dict[str, str]:
    for m in entry.members:
        if m["key"] == key:
            return m
    raise ValueError(f"model set {entry.name!r} has no model {key!r}; its models: {entry.keys}")


# ---- the pair names of earlier versions ------------------------------------------------------
def list_pairs() -> list[str]:
    """Names of the bundled sets (earlier versions called them pairs)."""
    return list_sets()


def pair_info(name: str) -> SetInfo:
    """The registry entry of ``name`` (see :func:`set_info`)."""
    return set_info(name)


def load_pair(name: str):
    """The UNet and VQ-UNet of the bundled set ``name`` as a two-member set.

    ``pair.predict(...)`` gives ``{"unet": labels, "vqunet": labels}`` as it always did, even
    when the bundled set carries more models (use :func:`load_set` for all of them).
    """
    entry = set_info(name)
    keys = [k for k in ("unet", "vqunet") if k in entry.keys] or list(entry.keys)
    return load_set(name, keys)
