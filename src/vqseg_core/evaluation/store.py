"""Resumable results: one JSON line per finished cell, appended and flushed as it completes.

A *cell* is the smallest unit of work (one case, one pair, one kind, one level...). Its
``key`` is a canonical JSON string of the parameters that determine its result; re-running into
the same folder skips every cell whose key is already stored. A line cut short by a crash is
ignored (the cell is recomputed).
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any


def cell_key(params: Mapping[str, Any]) -> str:
    """Canonical key of a cell: sorted-keys JSON of its parameters."""
    return json.dumps(dict(params), sort_keys=True, separators=(",", ":"))


class CellStore:
    """Append-only JSONL store of cell results.

    Args:
        path: the ``.jsonl`` file (created with its folder on first write).

    Raises:
        ValueError: the file holds a line that is not a cell (not written by this store),
            naming the file and the line.
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cells: dict[str, list[dict[str, Any]]] = {}
        self._cut = False  # the file ends in a line cut short: the next add starts a new line
        if self.path.exists():
            raw = self.path.read_bytes()
            self._cut = bool(raw) and not raw.endswith(b"\n")
            for number, line in enumerate(raw.decode("utf-8", "replace").splitlines(), 1):
                self._read(line, number)

    def _read(self, line: str, number: int) -> None:
        if not line.strip():
            return
        try:
            entry = json.loads(line, parse_constant=_constant)
        except json.JSONDecodeError:
            return  # a line cut short by a crash
        except ValueError as exc:  # e.g. an integer of thousands of digits
            entry = exc
        ok = (
            isinstance(entry, dict) and isinstance(entry.get("key"), str)
            and isinstance(entry.get("records"), list)
            and all(isinstance(r, dict) for r in entry["records"])
        )  # fmt: skip
        if not ok:
            raise ValueError(
                f"{self.path}, line {number}: not a result cell of vqseg-eval or vqseg-study "
                '(expected {"key": ..., "records": [...]}); move the file away or choose '
                "another output folder"
            )
        self._cells[entry["key"]] = entry["records"]

    def __contains__(self, key: str) -> bool:
        return key in self._cells

    def __len__(self) -> int:
        return len(self._cells)

    def cell_keys(self) -> list[str]:
        """The stored cells' keys, in the order they were stored."""
        return list(self._cells)

    def add(self, key: str, records: list[dict[str, Any]]) -> None:
        """Store one finished cell (appended, flushed and fsynced)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"key": key, "records": records}, allow_nan=True)
        text = ("\n" if self._cut else "") + line + "\n"
        self._cut = True  # until the line is on disk (a full disk may leave part of it)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        self._cut = False
        self._cells[key] = records

    def records(self, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The records of ``keys`` (all cells when ``None``), in the order of ``keys``."""
        chosen = self._cells.keys() if keys is None else keys
        return [r for k in chosen if k in self._cells for r in self._cells[k]]


def _constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]
