"""The registry of bundled pairs (``weights/registry.json``); no network access, ever.

Each entry names the two weight files (``NAME.safetensors`` + ``NAME.json`` in ``weights/``),
their sha256 (checked again at load, against the registry as well as the JSON), the data they
were trained on and the caveats of their held-out metrics.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

WEIGHTS_DIR = Path(__file__).parent / "weights"
REGISTRY = WEIGHTS_DIR / "registry.json"


@dataclass(frozen=True)
class PairInfo:
    """One registry entry.

    Attributes:
        name: e.g. ``"chest-xray"``.
        description: one line.
        files: ``{"unet": "chest-xray-unet.json", "vqunet": "chest-xray-vqunet.json"}``.
        sha256: expected sha256 of each weight file.
        details: training data, licence notes, held-out metrics and caveats.
    """

    name: str
    description: str
    files: dict[str, str]
    sha256: dict[str, str]
    details: dict[str, Any]


def _entries() -> dict[str, PairInfo]:
    if not REGISTRY.exists():
        return {}
    raw = json.loads(REGISTRY.read_text(encoding="utf-8"))
    return {
        name: PairInfo(
            name, e.get("description", ""), e["files"], e["sha256"], e.get("details", {})
        )
        for name, e in raw.get("pairs", {}).items()
    }


def list_pairs() -> list[str]:
    """Names of the bundled pairs."""
    return sorted(_entries())


def pair_info(name: str) -> PairInfo:
    """The registry entry of ``name`` (``ValueError`` listing the known names otherwise)."""
    entries = _entries()
    if name not in entries:
        known = ", ".join(sorted(entries)) or "none"
        raise ValueError(f"unknown model pair {name!r}; bundled pairs: {known}")
    return entries[name]


def load_pair(name: str):
    """Load the bundled pair ``name`` (sha256 checked against the registry and the JSON).

    Returns:
        A :class:`~vqseg_core.pretrained.pair.ModelPair`.
    """
    from vqseg_core.pretrained.pair import load_pair_from_files

    entry = pair_info(name)
    paths = {k: WEIGHTS_DIR / f for k, f in entry.files.items()}
    for key, path in paths.items():
        meta = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
        if meta.get("sha256") != entry.sha256[key]:
            from vqseg_core.checkpoint import CheckpointError

            raise CheckpointError(path, f"sha256 differs from the registry's entry for {name!r}")
    return load_pair_from_files(paths["unet"], paths["vqunet"], name=name, info=entry.details)
