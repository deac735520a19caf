"""Whose is an output folder? ``vqseg-eval`` writes into its own folders only.

An evaluation writes ``cases.csv``, ``table.md``, ``settings.json``... into ``--out``; a folder
holding files it did not write (a user's own ``table.md``) is refused unless ``--overwrite``,
and so is a folder holding another command's output. A folder is ``vqseg-eval``'s when it
holds the marker :data:`MARKER` (written before the first result), or, for folders written
before the marker existed, the ``settings.json`` an evaluation writes or a ``cells.jsonl`` of
result cells. Re-running a command into its own folder resumes it, as before.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

MARKER = ".vqseg-eval.json"
"""The file that marks a folder as written by ``vqseg-eval`` (and by which command)."""

_SETTINGS_KEYS = {"command", "settings", "pairs", "versions", "written"}


class OutputFolderError(ValueError):
    """``--out`` cannot be used: a file, or a folder holding someone else's files."""


def check_out(out: Path, command: str, *, overwrite: bool = False) -> None:
    """Refuse ``out`` unless it is new, empty, or ``command``'s own earlier output.

    Args:
        out: the ``--out`` folder.
        command: the ``vqseg-eval`` subcommand (``noise``, ``latent``, ...).
        overwrite: accept a folder holding other files (the user's ``--overwrite``).

    Raises:
        OutputFolderError: naming the folder and what is in the way.
    """
    _check_not_a_file(out)
    if not out.is_dir() or int(os.environ.get("RANK", "0") or 0) != 0:
        return  # under torchrun rank 0 decides (other ranks wait for it before writing)
    entries = sorted(p.name for p in out.iterdir() if not _is_marker_temp(p.name))
    if not entries or overwrite:
        return
    owner = folder_owner(out)
    if owner is None:
        shown = ", ".join(entries[:5]) + (", ..." if len(entries) > 5 else "")
        raise OutputFolderError(
            f"--out {out} holds files vqseg-eval did not write ({shown}); choose a new or empty "
            "folder, or pass --overwrite to write over them"
        )
    if owner != command:
        raise OutputFolderError(
            f"--out {out} holds the output of vqseg-eval {owner}, not {command}; choose "
            "another folder, or pass --overwrite to write over it"
        )


def mark_out(out: Path, command: str) -> None:
    """Create ``out`` and mark it as ``command``'s (rank 0 only under ``torchrun``)."""
    if int(os.environ.get("RANK", "0") or 0) != 0:
        return
    from vqseg_core.reporting import write_text

    marker = out / MARKER
    if folder_owner(out) == command and marker.is_file():
        return
    out.mkdir(parents=True, exist_ok=True)
    write_text(marker, json.dumps({"written_by": "vqseg-eval", "command": command}) + "\n")


def _is_marker_temp(name: str) -> bool:
    """A temporary file of the marker being written (atomic write: ``.MARKER.*.tmp``)."""
    return name.startswith(f".{MARKER}.") and name.endswith(".tmp")


def check_out_file(path: Path, *, overwrite: bool = False) -> None:
    """Refuse a report path that is a folder, or a file that is not an earlier report."""
    _check_not_a_file(path.parent)
    if path.is_dir():
        raise OutputFolderError(f"--out {path} is a folder; name the HTML file to write")
    if path.exists() and not overwrite:
        try:
            head = path.read_bytes()[-4096:].decode("utf-8", "replace")
        except OSError:
            head = ""
        if "<h2>Versions</h2>" not in head:
            raise OutputFolderError(
                f"--out {path} exists and is not a vqseg-eval report; choose another name, "
                "or pass --overwrite to replace it"
            )


def folder_owner(out: Path) -> str | None:
    """The ``vqseg-eval`` command whose output ``out`` holds, or ``None`` (not its output)."""
    marker = _json(out / MARKER)
    if isinstance(marker, dict) and marker.get("written_by") == "vqseg-eval":
        return str(marker.get("command"))
    settings = _json(out / "settings.json")
    if isinstance(settings, dict) and set(settings) >= _SETTINGS_KEYS:
        return str(settings["command"])
    return _cells_owner(out / "cells.jsonl")


def _cells_owner(path: Path) -> str | None:
    """The command in the first cell of a ``cells.jsonl`` whose every line is a cell."""
    from vqseg_core.evaluation.store import CellStore

    if not path.is_file():
        return None
    try:
        store = CellStore(path)
    except (ValueError, OSError):
        return None
    for cell in store.cell_keys():
        try:
            return str(json.loads(cell)["command"])
        except (ValueError, KeyError, TypeError):
            return None
    return None


def _json(path: Path) -> object:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def _check_not_a_file(out: Path) -> None:
    for part in (out, *out.parents):
        if part.exists():
            if not part.is_dir():
                where = "is a file" if part == out else f"lies under a file ({part})"
                raise OutputFolderError(f"--out {out} {where}: choose a folder")
            return
