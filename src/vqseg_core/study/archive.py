"""The committed record of one evaluated run, so that a study survives the machine.

A study's runs take hours of CPU; their folders (weights, checkpoints, evaluation stores) are
ignored by git and die with the machine. When a study file names an ``archive`` folder, every
run whose evaluation is complete leaves one small file there, ``<arm>-s<seed>.json.gz``: its
noise rows, shift rows, probe rows, codebook usage and validation curve (everything
:mod:`vqseg_core.study.summary` reads), the overrides it was trained with and the SHA-256 of
its export. The archive is meant to be committed next to the study's summary.

A run with an archive counts as done: ``train`` does not train it again and ``summary`` reads
the archive. To redo a run, delete its archive file.

The files are written atomically with a fixed gzip time stamp and sorted keys, so that the
same evaluation writes the same bytes; scores keep six decimals. Where a run has both, its
archive is what the summary reads, so that every machine prints the same tables.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
from pathlib import Path
from typing import Any

from vqseg_core.reporting import jsonable
from vqseg_core.study.spec import StudyRun, StudySpec

__all__ = [
    "ARCHIVE_FORMAT", "archive_file", "machine", "read_archive", "validation_records",
    "write_archive",
]  # fmt: skip

ARCHIVE_FORMAT = "vqseg-study-run/1"
"""The ``format`` of an archive file; another format is refused, not guessed at."""


def archive_file(spec: StudySpec, run: StudyRun) -> Path | None:
    """Where ``run``'s archive lives, or ``None`` when the study keeps no archive."""
    if spec.archive is None:
        return None
    return spec.archive / f"{run.name}.json.gz"


def machine() -> str:
    """The CPU this process runs on, its logical CPU count and vector extension (float32
    results may differ in the last bits between AVX2 and AVX-512 kernels)."""
    import platform

    try:
        text = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        text = ""
    cpu: str | None = None
    flags: set[str] = set()
    for line in text.splitlines():
        key, _, value = (part.strip() for part in line.partition(":"))
        if key == "model name" and cpu is None:
            cpu = value
        elif key == "flags" and not flags:
            flags = set(value.split())
    cpu = cpu or platform.processor() or platform.machine()
    simd = "AVX-512" if "avx512f" in flags else "AVX2" if "avx2" in flags else None
    return f"{cpu}, {os.cpu_count()} logical CPUs" + (f", {simd}" if simd else "")


def _portable(spec: StudySpec, run: StudyRun) -> list[str]:
    """The run's overrides with the dataset path relative to the study file (the study
    resolves it to an absolute path, which differs from one checkout to the next)."""
    items = []
    for item in spec.overrides(run):
        key, _, value = item.partition("=")
        if key == "data.dataset" and os.path.isabs(value):
            value = Path(os.path.relpath(value, spec.path.parent)).as_posix()
        items.append(f"{key}={value}")
    return items


def validation_records(run: StudyRun) -> list[dict[str, Any]]:
    """The ``step`` and ``dice`` of every validation in ``run``'s training log (empty without one)."""
    log = run.folder / "log.jsonl"
    if not log.exists():
        return []
    records = []
    for line in log.read_text(encoding="utf-8").splitlines():
        if line.strip():
            rec = json.loads(line)
            if rec.get("type") == "val":
                records.append({"step": rec["step"], "dice": rec.get("dice") or {}})
    return records


DIGITS = 6
"""Decimals kept of every score (Dice in [0, 1], HD95 in mm or pixels): tables print three."""


def _columns(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Rows as one column list and value lists (a third of the size of repeated keys)."""
    names = sorted({k for r in rows for k in r})

    def short(v: Any) -> Any:
        return round(v, DIGITS) if isinstance(v, float) else v

    return {"columns": names, "values": [[short(r.get(k)) for k in names] for r in rows]}


def _rows(table: dict[str, Any]) -> list[dict[str, Any]]:
    names = table["columns"]
    return [dict(zip(names, values, strict=True)) for values in table["values"]]


def write_archive(spec: StudySpec, run: StudyRun, folder: Path) -> Path | None:
    """Archive ``run`` from its complete evaluation ``folder``; ``None`` without an archive
    folder in the study.

    Raises:
        ValueError: the evaluation is incomplete (no codebook usage, the stage written last).
    """
    from vqseg_core.evaluation.store import CellStore

    path = archive_file(spec, run)
    if path is None:
        return None
    folder = Path(folder)
    needed = ("noise_rows.json", "probes.json", "codebook.json")
    missing = [n for n in needed if not (folder / n).exists()]
    if missing:
        raise ValueError(f"{run.name}: evaluation incomplete in {folder} (no {', '.join(missing)})")
    shift = CellStore(folder / "shift.jsonl").records() if (folder / "shift.jsonl").exists() else []
    record = {
        "format": ARCHIVE_FORMAT,
        "study": spec.name,
        "run": run.name,
        "arm": run.arm.name,
        "seed": run.seed,
        "overrides": _portable(spec, run),
        "export_sha256": (
            hashlib.sha256(run.export.read_bytes()).hexdigest() if run.export.exists() else None
        ),
        "machine": machine(),  # where it was evaluated (and, in practice, trained)
        "validation": validation_records(run),
        "noise": _columns(json.loads((folder / "noise_rows.json").read_text(encoding="utf-8"))),
        "shift": _columns(shift),
        "probes": json.loads((folder / "probes.json").read_text(encoding="utf-8")),
        "codebook": json.loads((folder / "codebook.json").read_text(encoding="utf-8")),
    }
    text = json.dumps(jsonable(record), sort_keys=True, separators=(",", ":"))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "wb") as raw, gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as fh:
        fh.write(text.encode("utf-8"))
    os.replace(tmp, path)
    return path


def read_archive(spec: StudySpec, run: StudyRun) -> dict[str, Any] | None:
    """``run``'s archive, or ``None`` when there is none.

    Raises:
        ValueError: an unreadable file, another format, or an archive of another run.
    """
    path = archive_file(spec, run)
    if path is None or not path.exists():
        return None
    try:
        with gzip.open(path, "rt", encoding="utf-8") as fh:
            record = json.load(fh)
    except (OSError, EOFError, ValueError) as exc:
        raise ValueError(f"cannot read the study archive {path}: {exc}") from exc
    if not isinstance(record, dict) or record.get("format") != ARCHIVE_FORMAT:
        raise ValueError(f"{path} is not a {ARCHIVE_FORMAT} archive")
    if record.get("run") != run.name or record.get("study") != spec.name:
        raise ValueError(
            f"{path} holds run {record.get('run')!r} of study {record.get('study')!r}, "
            f"not {run.name!r} of {spec.name!r}"
        )
    if list(record.get("overrides") or []) != _portable(spec, run):
        raise ValueError(
            f"{path} was trained with other settings than the study file now gives "
            f"{run.name}; delete it to train and evaluate the run again"
        )
    record["noise"], record["shift"] = _rows(record["noise"]), _rows(record["shift"])
    return record
