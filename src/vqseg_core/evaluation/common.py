"""What every evaluation command shares: model pairs, loaded cases, seeds, run settings."""

from __future__ import annotations

import hashlib
import json
import platform
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# the one case loader lives in vqseg_core.data.cases (re-exported for existing imports)
from vqseg_core.data.cases import LoadedCase as LoadedCase
from vqseg_core.data.cases import load_case as load_case


@dataclass(frozen=True)
class PairSource:
    """Where a model pair comes from: a bundled name, or two ``vqseg-train`` exports."""

    name: str | None = None
    unet: Path | None = None
    vqunet: Path | None = None

    def __post_init__(self) -> None:
        files = (self.unet is None, self.vqunet is None)
        if self.name is None and any(files):
            raise ValueError("a pair needs a bundled name or both --unet and --vqunet files")
        if self.name is not None and not all(files):
            raise ValueError("give a bundled pair name or files, not both")

    def load(self):
        """The :class:`~vqseg_core.pretrained.ModelPair`."""
        from vqseg_core.pretrained import load_pair, load_pair_from_files

        if self.name is not None:
            return load_pair(self.name)
        return load_pair_from_files(self.unet, self.vqunet)  # type: ignore[arg-type]


def pair_id(pair) -> str:
    """A short stable id of a pair's weights: its name and the first hex digits of both hashes."""
    return f"{pair.name}@{pair.sha256['unet'][:8]}-{pair.sha256['vqunet'][:8]}"


def pair_summary(pair) -> dict[str, Any]:
    """JSON-able description of a pair for ``settings.json`` and the report."""
    return {
        "name": pair.name,
        "id": pair_id(pair),
        "sha256": dict(pair.sha256),
        "recipe": pair.recipe.to_dict(),
        "classes": {str(k): v for k, v in pair.classes.items()},
        "patch_size": list(pair.patch_size) if pair.patch_size else None,
    }


def case_seed(seed: int, case_id: str) -> int:
    """The seed of draw 0 of a case: a hash of ``(seed, case_id)`` (31 bits).

    Shared by both models and every level (common random numbers); draw d uses ``+ d``.
    """
    digest = hashlib.sha256(f"{int(seed)}:{case_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def versions() -> dict[str, str]:
    """Versions of Python and the packages that shape the numbers."""
    from importlib import metadata

    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in ("napari-vqseg", "torch", "numpy", "scipy", "monai", "scikit-image", "matplotlib"):
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def write_settings(out: Path, command: str, settings: dict[str, Any], pairs: Sequence[Any]) -> Path:
    """Write ``settings.json`` (command, parameters, pair hashes, versions, time) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "command": command,
        "settings": settings,
        "pairs": [pair_summary(p) for p in pairs],
        "versions": versions(),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = out / "settings.json"
    path.write_text(json.dumps(data, indent=2, default=str), encoding="utf-8")
    return path


def write_csv(path: Path, rows: Sequence[dict[str, Any]], first: Sequence[str] = ()) -> Path:
    """Write dicts as CSV; columns: ``first`` then the others in order of appearance."""
    import csv

    columns = [c for c in first if any(c in r for r in rows)]
    for r in rows:
        columns += [k for k in r if k not in columns and not isinstance(r[k], list | dict)]
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, columns, extrasaction="ignore", restval="")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: _fmt(v) for k, v in r.items() if k in columns})
    return path


def _fmt(value: Any) -> Any:
    if isinstance(value, float):
        return "nan" if value != value else repr(value)
    return value
