"""``vqseg-data``: list the datasets this project can build, and build them.

Examples::

    vqseg-data list
    vqseg-data prepare ct-organs --out data/ct-organs
    vqseg-data prepare jsrt --source /data/jsrt_scr --out data/jsrt --size 512
    vqseg-data prepare brain-colin27 --out data/colin --install

Exit codes: 0 success, 2 error (one line on stderr; the traceback with ``--debug``), 130
interrupted.
"""

from __future__ import annotations

import argparse
import shlex
import subprocess
import sys
from collections.abc import Sequence
from pathlib import Path

from vqseg_core.command_errors import add_debug_flag, run_main


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``vqseg-data``."""
    parser = argparse.ArgumentParser(
        prog="vqseg-data", description="List and prepare datasets for napari-vqseg."
    )
    sub = parser.add_subparsers(dest="command", required=True)
    add_debug_flag(parser)
    listing = sub.add_parser("list", help="known datasets, their origin, licence and presence here")
    add_debug_flag(listing, sub=True)
    prep = sub.add_parser("prepare", help="build a ready dataset (images/, masks/, dataset.json)")
    prep.add_argument("name", help="dataset name (see `vqseg-data list`)")
    prep.add_argument("--out", type=Path, required=True, help="output folder")
    prep.add_argument(
        "--source", type=Path, help="raw data folder (default: where it is installed)"
    )
    prep.add_argument("--force", action="store_true", help="replace an existing prepared dataset")
    prep.add_argument("--limit", type=int, help="convert only the first N cases (quick checks)")
    prep.add_argument("--size", type=int, help="2D sources: resize to SIZE x SIZE pixels")
    prep.add_argument("--install", action="store_true", help="install a missing package source")
    prep.add_argument("--clavicles", action="store_true", help="jsrt: add clavicles as label 3")
    prep.add_argument("--brain-only", action="store_true", help="brain-*: label 1 = brain only")
    prep.add_argument(
        "--whole-gland", action="store_true", help="prostate: merge the zones into label 1"
    )
    prep.add_argument("--channel", type=int, default=0, help="msd: image channel (default 0)")
    prep.add_argument(
        "--no-progress", "--quiet", dest="quiet", action="store_true",
        help="no progress bars (--quiet: the old name)",
    )  # fmt: skip
    add_debug_flag(prep, sub=True)
    from vqseg_core._version import command_conventions

    return command_conventions(parser)


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``vqseg-data``; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse already printed its message
        return int(exc.code or 0)
    return run_main(
        "vqseg-data",
        lambda: _list() if args.command == "list" else _prepare(args),
        debug=args.debug,
        where=getattr(args, "out", None),
        interrupted="run the same command again (with --force) to start the dataset afresh",
    )


def _list() -> int:
    from vqseg_core.data.sources import SOURCES

    rows = []
    for src in SOURCES.values():
        found = src.locate()
        if found is not None:
            here = f"present ({found})"
        elif src.install:
            here = f"absent: {src.install}"
        else:
            here = "bring your own copy: --source DIR"
        rows.append((src.name, src.title, src.origin, src.licence, here))
    for name, title, origin, licence, here in rows:
        print(f"{name:<14} {title}")
        print(f"{'':<14}   from:    {origin}")
        print(f"{'':<14}   licence: {licence}")
        print(f"{'':<14}   here:    {here}")
    return 0


def _prepare(args: argparse.Namespace) -> int:
    from vqseg_core.data.sources import PrepareRequest, SourceMissingError, get_source, prepare

    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be >= 1, got {args.limit}")
    if args.size is not None and args.size < 8:
        raise ValueError(f"--size must be >= 8, got {args.size}")
    source = get_source(args.name)
    options = {
        "clavicles": args.clavicles,
        "brain_only": args.brain_only,
        "whole_gland": args.whole_gland,
        "channel": args.channel,
    }
    request = PrepareRequest(
        out=args.out,
        source=args.source,
        limit=args.limit,
        size=args.size,
        options=options,
        progress=not args.quiet,
    )
    try:
        doc = prepare(args.name, request, force=args.force)
    except SourceMissingError as err:
        if not (args.install and err.install and args.source is None):
            if err.install:
                print(f"vqseg-data: {source.name} needs: {err.install}", file=sys.stderr)
                print("  (or rerun with --install)", file=sys.stderr)
            else:
                print(f"vqseg-data: error: {err}", file=sys.stderr)
            return 2
        if _install(err.install) != 0:
            return 2
        doc = prepare(args.name, request, force=args.force)
    n = doc["numTraining"]
    labels = ", ".join(f"{k}={v}" for k, v in doc["labels"].items() if k != "0") or "none"
    print(f"prepared {doc['name']}: {n} case(s) in {args.out} (labels: {labels})")
    for note in doc["notes"]:
        print(f"  note: {note}")
    return 0


def _install(command: str) -> int:
    argv = shlex.split(command)
    if argv[0] == "pip":
        argv = [sys.executable, "-m", "pip", *argv[1:]]
    elif argv[:2] == ["apt-get", "install"]:
        argv = [*argv[:2], "-y", *argv[2:]]
    print(f"vqseg-data: running {' '.join(argv)}", file=sys.stderr)
    result = subprocess.run(argv, check=False)
    if result.returncode != 0:
        print(f"vqseg-data: install failed (exit {result.returncode})", file=sys.stderr)
    return result.returncode


if __name__ == "__main__":
    raise SystemExit(main())
