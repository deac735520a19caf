"""What every evaluation command shares: model sets, loaded cases, seeds, run settings."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

# the one case loader lives in vqseg_core.data.cases (re-exported for existing imports)
from vqseg_core.data.cases import LoadedCase as LoadedCase
from vqseg_core.data.cases import load_case as load_case
from vqseg_core.reporting import jsonable, versions, write_csv, write_text

__all__ = ["LoadedCase", "ModelSource", "PairSource", "case_seed", "checked_truth", "load_case", "pair_id",
           "pair_summary", "versions", "write_csv", "write_settings"]  # fmt: skip


@dataclass(frozen=True)
class ModelSource:
    """Where a model set comes from: a bundled name (optionally some of its members), or the
    user's own ``vqseg-train`` exports (1-6 files)."""

    name: str | None = None
    files: tuple[Path, ...] = ()
    keys: tuple[str, ...] | None = None

    def __post_init__(self) -> None:
        if (self.name is None) == (not self.files):
            raise ValueError("a model set needs a bundled name or export files (not both)")

    def load(self):
        """The :class:`~vqseg_core.modelset.ModelSet`."""
        from vqseg_core.modelset import set_from_files
        from vqseg_core.pretrained import load_set

        if self.name is not None:
            return load_set(self.name, self.keys)
        return set_from_files(list(self.files))


def checked_truth(
    case: LoadedCase, classes: Mapping[int, str], label_map: Mapping[int, int] | None = None
) -> Any:
    """The case's ground truth, mapped by ``label_map`` and checked against the model classes.

    Raises:
        LabelError: (a ``ValueError``) values that are not background or a class, naming the
            label file, the values and the classes.
    """
    from vqseg_core.data.labels import apply_label_map, check_label_map, check_labels

    source = case.label_source
    if label_map:
        mapping = check_label_map(label_map, classes, "label map")
        return apply_label_map(case.labels, mapping)
    hint = "map the values onto classes with a label map (e.g. 255 -> 1)"
    check_labels(case.labels, classes, source, hint=hint)
    return case.labels


def PairSource(
    name: str | None = None, unet: Path | None = None, vqunet: Path | None = None
) -> ModelSource:
    """The source of a UNet / VQ-UNet pair (earlier versions' API): a bundled set's ``unet``
    and ``vqunet`` members, or two exports."""
    files = (unet is None, vqunet is None)
    if name is None and any(files):
        raise ValueError("a pair needs a bundled name or both --unet and --vqunet files")
    if name is not None and not all(files):
        raise ValueError("give a bundled pair name or files, not both")
    if name is not None:
        return ModelSource(name=name, keys=("unet", "vqunet"))
    return ModelSource(files=(Path(unet), Path(vqunet)))  # type: ignore[arg-type]


def pair_id(models) -> str:
    """A model set's id (:attr:`ModelSet.id`: its name and the first hex digits of each hash)."""
    return models.id


def pair_summary(models) -> dict[str, Any]:
    """JSON-able description of a model set for ``settings.json`` and the report."""
    return models.summary()


def case_seed(seed: int, case_id: str) -> int:
    """The seed of draw 0 of a case: a hash of ``(seed, case_id)`` (31 bits).

    Shared by every model and every level (common random numbers); draw d uses ``+ d``.
    """
    digest = hashlib.sha256(f"{int(seed)}:{case_id}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def write_settings(out: Path, command: str, settings: dict[str, Any], pairs: Sequence[Any]) -> Path:
    """Write ``settings.json`` (command, parameters, model hashes, versions, time) into ``out``."""
    out.mkdir(parents=True, exist_ok=True)
    data = {
        "command": command,
        "settings": settings,
        "pairs": [pair_summary(p) for p in pairs],
        "versions": versions(),
        "written": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    path = out / "settings.json"
    write_text(path, json.dumps(jsonable(data), indent=2, default=str))
    return path
