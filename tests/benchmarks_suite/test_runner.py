"""The benchmark runner: discovery, the table, error rows and the JSON (fake modules, no torch)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

RUN_PY = Path(__file__).resolve().parents[2] / "benchmarks" / "run.py"

OK_MODULE = """
ID = "B1"


def run(quick: bool) -> dict:
    return {"id": ID, "what": "fake speed-up", "baseline": "slow", "ratio": 5.0 if quick else 2.0,
            "target": 4.0, "cmp": ">=", "unit": "x", "met": quick, "accuracy": {"ok": True},
            "details": {"quick": quick}}
"""

SECONDS_MODULE = """
ID = "B7"


def run(quick: bool) -> dict:
    return {"id": ID, "what": "fake start-up", "baseline": "alone", "ratio": 0.25,
            "target": 1.0, "cmp": "<=", "unit": "s", "met": True,
            "accuracy": {"ok": False}, "details": {}}
"""

CRASH_MODULE = """
ID = "B2"


def run(quick: bool) -> dict:
    raise RuntimeError("boom from the fake benchmark")
"""


@pytest.fixture(scope="module")
def runner():
    spec = importlib.util.spec_from_file_location("bench_run_under_test", RUN_PY)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def fake_dir(tmp_path: Path) -> Path:
    (tmp_path / "b1_fast.py").write_text(OK_MODULE)
    (tmp_path / "b2_crash.py").write_text(CRASH_MODULE)
    (tmp_path / "b7_start.py").write_text(SECONDS_MODULE)
    (tmp_path / "common.py").write_text("")  # not a benchmark
    (tmp_path / "bogus.py").write_text("")  # not b<N>_<name>.py
    return tmp_path


def test_discovery_reads_ids_in_numeric_order(runner, fake_dir: Path) -> None:
    (fake_dir / "b10_later.py").write_text("def run(quick): ...\n")  # no ID: from the name
    found = runner.discover(fake_dir)
    assert [bid for bid, _ in found] == ["B1", "B2", "B7", "B10"]
    assert found[0][1].name == "b1_fast.py"


def test_real_suite_is_discovered(runner) -> None:
    ids = [bid for bid, _ in runner.discover()]
    assert {"B1", "B2", "B3", "B4", "B6"} <= set(ids)


def test_suite_runs_each_in_a_process_and_keeps_going(runner, fake_dir: Path, tmp_path, capsys):
    out = tmp_path / "results" / "latest.json"
    rows = runner.run_suite(quick=True, out=out, directory=fake_dir, timeout=60)
    assert [r["id"] for r in rows] == ["B1", "B2", "B7"]
    assert rows[0]["ratio"] == 5.0 and rows[0]["details"] == {"quick": True}
    assert "boom from the fake benchmark" in rows[1]["error"]
    assert rows[1]["met"] is False
    table = capsys.readouterr().out
    lines = table.splitlines()
    assert lines[0].split() == ["id", "what", "ratio", "target", "met", "accuracy"]
    assert "5.00x" in table and ">= 4.00x" in table
    assert "0.25 s" in table and "<= 1.00 s" in table
    assert "ERROR" in table and "FAIL" in table
    report = json.loads(out.read_text())
    assert report["quick"] is True
    assert set(report["results"]) == {"B1", "B2", "B7"}
    assert report["machine"]["cores"] >= 1 and "packages" in report["machine"]


def test_only_filters_and_exit_status(runner, fake_dir: Path, tmp_path) -> None:
    out = tmp_path / "only.json"
    assert runner.main(["--dir", str(fake_dir), "--only", "b1", "--out", str(out)]) == 0
    report = json.loads(out.read_text())
    assert list(report["results"]) == ["B1"]
    assert report["results"]["B1"]["ratio"] == 2.0  # not quick
    assert runner.main(["--dir", str(fake_dir), "--only", "B2", "--out", str(out)]) == 1


def test_format_table_of_error_and_seconds_rows(runner) -> None:
    rows = [
        {"id": "B6", "what": "start", "ratio": 1.5, "target": 1.0, "cmp": "<=", "unit": "s",
         "met": False, "accuracy": {"ok": True}},
        runner.error_row(Path("b9_x.py"), "exit 1: Traceback"),
    ]  # fmt: skip
    text = runner.format_table(rows)
    assert "1.50 s" in text and "MISSED" in text
    assert "b9_x: exit 1: Traceback" in text or "B9: exit 1: Traceback" in text


def test_full_only_modules_stay_out_of_quick_runs(runner, fake_dir: Path, capsys) -> None:
    (fake_dir / "b2_crash.py").write_text(CRASH_MODULE + "FULL_ONLY = True\n")
    quick = runner.run_suite(quick=True, out=None, directory=fake_dir, timeout=60)
    assert [r["id"] for r in quick] == ["B1", "B7"]
    assert "full runs only" in capsys.readouterr().err
    named = runner.run_suite(quick=True, only=["B2"], out=None, directory=fake_dir, timeout=60)
    assert [r["id"] for r in named] == ["B2"]  # --only names it: it runs
    full = runner.run_suite(quick=False, out=None, directory=fake_dir, timeout=60)
    assert [r["id"] for r in full] == ["B1", "B2", "B7"]


def test_the_retired_b3_is_full_only(runner) -> None:
    paths = dict(runner.discover())
    assert runner.full_only(paths["B3"]) and not runner.full_only(paths["B1"])
