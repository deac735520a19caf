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
    """

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        self._cells: dict[str, list[dict[str, Any]]] = {}
        if self.path.exists():
            for line in self.path.read_text(encoding="utf-8").splitlines():
                try:
                    entry = json.loads(line, parse_constant=_constant)
                except json.JSONDecodeError:
                    continue  # a line cut short by a crash
                self._cells[entry["key"]] = entry["records"]

    def __contains__(self, key: str) -> bool:
        return key in self._cells

    def __len__(self) -> int:
        return len(self._cells)

    def add(self, key: str, records: list[dict[str, Any]]) -> None:
        """Store one finished cell (appended, flushed and fsynced)."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        line = json.dumps({"key": key, "records": records}, allow_nan=True)
        with self.path.open("a", encoding="utf-8") as fh:
            fh.write(line + "\n")
            fh.flush()
            os.fsync(fh.fileno())
        self._cells[key] = records

    def records(self, keys: Iterable[str] | None = None) -> list[dict[str, Any]]:
        """The records of ``keys`` (all cells when ``None``), in the order of ``keys``."""
        chosen = self._cells.keys() if keys is None else keys
        return [r for k in chosen if k in self._cells for r in self._cells[k]]


def _constant(name: str) -> float:
    return {"NaN": math.nan, "Infinity": math.inf, "-Infinity": -math.inf}[name]
