"""Run the benchmark suite: each ``benchmarks/b*_*.py`` in a fresh process, one table, one JSON.

    python benchmarks/run.py [--quick] [--only B1,B3] [--threads N] [--out benchmarks/results/latest.json]

A benchmark module exposes ``ID = "B1"`` and ``run(quick: bool) -> dict`` (see
``benchmarks/common.py``: ``result``); ``FULL_ONLY = True`` keeps it out of ``--quick`` runs
unless ``--only`` names it (a retired target that is still recorded). Each runs in its own subprocess, so imports, threads and
memory never leak from one to the next; one that crashes becomes an error row and the suite
goes on. Exit status: 0 when every benchmark ran (missed targets included), 1 otherwise.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from benchmarks.common import machine_info  # noqa: E402

BENCH_DIR = Path(__file__).resolve().parent
DEFAULT_OUT = BENCH_DIR / "results" / "latest.json"
_ID = re.compile(r"""^ID\s*(?::\s*str\s*)?=\s*["']([^"']+)["']""", re.MULTILINE)
_NAME = re.compile(r"^b(\d+)_\w+\.py$")
_FULL_ONLY = re.compile(r"^FULL_ONLY\s*(?::\s*bool\s*)?=\s*True\b", re.MULTILINE)


def discover(directory: Path = BENCH_DIR) -> list[tuple[str, Path]]:
    """``(ID, path)`` of every ``b<N>_<name>.py`` module, in order of N (IDs read, not imported)."""
    found = []
    for path in directory.glob("b*_*.py"):
        match = _NAME.match(path.name)
        if not match:
            continue
        declared = _ID.search(path.read_text(encoding="utf-8"))
        found.append(
            (int(match.group(1)), declared.group(1) if declared else f"B{match.group(1)}", path)
        )
    return [(bid, path) for _, bid, path in sorted(found)]


def full_only(path: Path) -> bool:
    """Whether the module declares ``FULL_ONLY = True`` (read, not imported)."""
    return bool(_FULL_ONLY.search(path.read_text(encoding="utf-8")))


THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")


def run_child(
    path: Path, quick: bool, timeout: float, threads: int | None = None
) -> dict[str, Any]:
    """Run one benchmark module in a fresh interpreter; an error row if it fails."""
    env = dict(os.environ)
    if threads:
        env.update({name: str(threads) for name in THREAD_VARS})
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "result.json"
        cmd = [
            sys.executable,
            str(Path(__file__).resolve()),
            "--child",
            str(path),
            "--result",
            str(out),
        ]
        if quick:
            cmd.append("--quick")
        t0 = time.perf_counter()
        try:
            done = subprocess.run(
                cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=timeout
            )
            error = (
                None
                if done.returncode == 0 and out.exists()
                else (f"exit {done.returncode}: {_tail(done.stderr or done.stdout)}")
            )
        except subprocess.TimeoutExpired:
            error = f"timed out after {timeout:.0f} s"
        elapsed = time.perf_counter() - t0
        if error is not None:
            return error_row(path, error, elapsed)
        row = json.loads(out.read_text(encoding="utf-8"))
    row["elapsed_s"] = round(elapsed, 2)
    return row


def error_row(path: Path, error: str, elapsed: float = 0.0) -> dict[str, Any]:
    """The row of a benchmark that crashed (or timed out)."""
    bid = next((b for b, p in discover(path.parent) if p == path), path.stem)
    return {
        "id": bid,
        "what": path.stem,
        "baseline": "",
        "ratio": None,
        "target": None,
        "met": False,
        "accuracy": {"ok": False},
        "details": {},
        "error": error,
        "elapsed_s": round(elapsed, 2),
    }


def _tail(text: str, lines: int = 15) -> str:
    return "\n".join(text.strip().splitlines()[-lines:])


def _fmt_value(value: float | None, unit: str) -> str:
    if value is None:
        return "-"
    return f"{value:.2f}x" if unit == "x" else f"{value:.2f} {unit}"


def format_table(rows: list[dict[str, Any]]) -> str:
    """One plain-text table: id, what, ratio, target, met, accuracy."""
    head = ("id", "what", "ratio", "target", "met", "accuracy")
    body = []
    for r in rows:
        unit = r.get("unit", "x")
        if r.get("error"):
            met, acc = "ERROR", "-"
        else:
            met = "yes" if r.get("met") else "MISSED"
            acc = "ok" if r.get("accuracy", {}).get("ok") else "FAIL"
        target = (
            "-"
            if r.get("target") is None
            else f"{r.get('cmp', '>=')} {_fmt_value(r['target'], unit)}"
        )
        body.append(
            (
                str(r["id"]),
                str(r.get("what", ""))[:76],
                _fmt_value(r.get("ratio"), unit),
                target,
                met,
                acc,
            )
        )
    widths = [max(len(str(row[i])) for row in (head, *body)) for i in range(len(head))]
    lines = [
        "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip()
        for row in (head, *body)
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    errors = [f"{r['id']}: {r['error']}" for r in rows if r.get("error")]
    return "\n".join(lines + (["", "errors:", *errors] if errors else []))


def run_suite(
    quick: bool = False,
    only: list[str] | None = None,
    out: Path | None = DEFAULT_OUT,
    directory: Path = BENCH_DIR,
    timeout: float | None = None,
    threads: int | None = None,
) -> list[dict[str, Any]]:
    """Run the selected benchmarks one by one, print the table and write the JSON."""
    wanted = {s.strip().upper() for s in only} if only else None
    modules = [(b, p) for b, p in discover(directory) if wanted is None or b.upper() in wanted]
    if quick and wanted is None:
        for bid, path in modules:
            if full_only(path):
                print(f"[{bid}] {path.name}: full runs only (skipped)", file=sys.stderr)
        modules = [(b, p) for b, p in modules if not full_only(p)]
    limit = timeout or (900.0 if quick else 3600.0)
    started = datetime.now(UTC)
    rows = []
    for bid, path in modules:
        print(f"[{bid}] {path.name} ...", file=sys.stderr, flush=True)
        row = run_child(path, quick, limit, threads)
        status = (
            "error"
            if row.get("error")
            else f"ratio {_fmt_value(row['ratio'], row.get('unit', 'x'))}"
        )
        print(f"[{bid}] {status} ({row['elapsed_s']} s)", file=sys.stderr, flush=True)
        rows.append(row)
    print(format_table(rows))
    if out is not None:
        report = {
            "date": started.isoformat(timespec="seconds"),
            "quick": quick,
            "threads": threads or "default (torch: one per core)",
            "machine": machine_info(),
            "results": {r["id"]: r for r in rows},
        }
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(report, indent=1, default=str) + "\n", encoding="utf-8")
        print(f"\nraw numbers: {out}")
    return rows


def _child(path: Path, result_path: Path, quick: bool) -> None:
    spec = importlib.util.spec_from_file_location(f"benchmarks.{path.stem}", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    row = module.run(quick)
    result_path.write_text(json.dumps(row, default=str), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    """Command line; see the module docstring."""
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--quick", action="store_true", help="smaller sizes and fewer repeats")
    p.add_argument("--only", default="", help="comma-separated ids, e.g. B1,B3")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT, help="JSON with the raw numbers")
    p.add_argument("--dir", type=Path, default=BENCH_DIR, help=argparse.SUPPRESS)
    p.add_argument("--timeout", type=float, default=None, help="seconds per benchmark")
    p.add_argument("--threads", type=int, default=None, help="torch/OpenMP threads per benchmark")
    p.add_argument("--child", type=Path, help=argparse.SUPPRESS)
    p.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.child is not None:
        _child(args.child, args.result, args.quick)
        return 0
    only = [s for s in args.only.split(",") if s.strip()] or None
    rows = run_suite(args.quick, only, args.out, args.dir, args.timeout, args.threads)
    return 1 if any(r.get("error") for r in rows) else 0


if __name__ == "__main__":
    sys.exit(main())
