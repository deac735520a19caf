"""The result store and the table writer under hostile files: a foreign line is named with its
file and line, a line cut short by a full disk does not swallow the next cell, and a table
write that fails leaves the old table whole."""

from __future__ import annotations

from pathlib import Path

import pytest

from vqseg_core import reporting
from vqseg_core.evaluation.store import CellStore


@pytest.mark.parametrize(
    "line",
    ['[1, 2]', '{"key": 3, "records": []}', '{"key": "a"}', '{"key": "a", "records": [1]}',
     '"text"', '{"key": "a", "records": [], "x": ' + "9" * 5000 + "}"],
)  # fmt: skip
def test_a_foreign_line_is_named_with_file_and_line(tmp_path: Path, line: str) -> None:
    path = tmp_path / "cells.jsonl"
    path.write_text('{"key": "k", "records": [{"v": 1}]}\n' + line + "\n", encoding="utf-8")
    with pytest.raises(ValueError, match=r"cells\.jsonl, line 2: not a result cell"):
        CellStore(path)


def test_a_cut_line_is_skipped_and_the_next_cell_starts_a_new_line(tmp_path: Path) -> None:
    path = tmp_path / "cells.jsonl"
    path.write_text('{"key": "k", "records": [{"v": 1}]}\n{"key": "cut", "rec', encoding="utf-8")
    store = CellStore(path)
    assert store.cell_keys() == ["k"]
    store.add("next", [{"v": 2}])
    again = CellStore(path)
    assert again.cell_keys() == ["k", "next"] and again.records(["next"]) == [{"v": 2}]


def test_a_failed_table_write_keeps_the_old_table(tmp_path: Path, full_disk) -> None:
    path = tmp_path / "table.md"
    reporting.write_text(path, "old table\n")

    full_disk()
    with pytest.raises(OSError) as exc:
        reporting.write_csv(path.with_name("cases.csv"), [{"a": 1}])
    assert exc.value.filename == str(path.with_name("cases.csv"))
    with pytest.raises(OSError):
        reporting.write_text(path, "new table\n")
    assert path.read_text(encoding="utf-8") == "old table\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.md"]  # no temporary left


def test_write_text_keeps_the_mode_of_the_file_it_replaces(tmp_path: Path) -> None:
    path = tmp_path / "settings.json"
    reporting.write_text(path, "{}")
    assert path.stat().st_mode & 0o777 == 0o644
    path.chmod(0o664)
    reporting.write_text(path, "{}\n")
    assert path.stat().st_mode & 0o777 == 0o664 and path.read_text(encoding="utf-8") == "{}\n"
