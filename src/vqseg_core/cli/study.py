"""``vqseg-study``: train, evaluate and summarise a study of arms x seeds (configs/studies/).

Examples::

    vqseg-study status configs/studies/vq-chest128.yaml --out runs/studies/vq
    vqseg-study train configs/studies/vq-chest128.yaml --out runs/studies/vq   # resumes
    vqseg-study evaluate configs/studies/vq-chest128.yaml --out runs/studies/vq
    vqseg-study summary configs/studies/vq-chest128.yaml --out runs/studies/vq --to docs/results/vq
    vqseg-study all configs/studies/vq-chest128.yaml --out runs/studies/vq --to docs/results/vq

Every stage resumes: finished runs and evaluated (run, dataset) cells are skipped. Several
``train`` processes may share one study folder (each takes the next free run).
Exit codes: 0 success, 2 error (one line on stderr; the traceback with ``--debug``), 130
interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vqseg_core.command_errors import add_debug_flag, run_main


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``vqseg-study``."""
    parser = argparse.ArgumentParser(
        prog="vqseg-study",
        description="Train, evaluate and summarise a matched multi-seed study.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    add_debug_flag(parser)
    sub = parser.add_subparsers(dest="command", required=True)
    for name, text in (
        ("status", "which runs are finished, archived, partial or missing"),
        ("train", "train the missing runs (resuming partial ones)"),
        ("evaluate", "per-case scores of every finished run (noise, shift, codebook usage)"),
        ("summary", "tables and figures over seeds and cases"),
        ("all", "train, evaluate and summarise"),
    ):
        p = sub.add_parser(name, help=text, formatter_class=argparse.ArgumentDefaultsHelpFormatter)
        p.add_argument("study", type=Path, help="the study file (YAML)")
        p.add_argument("--out", type=Path, required=True, help="the study folder")
        p.add_argument("--device", default="auto", help="auto, cpu, cuda or mps")
        add_debug_flag(p, sub=True)
        if name in ("train", "all"):
            p.add_argument("--limit", type=int, help="train at most this many runs now")
        if name in ("summary", "all"):
            p.add_argument("--to", type=Path, help="also copy the summary into this folder")
        if name in ("train", "evaluate", "all"):
            p.add_argument("--no-progress", "--quiet", dest="quiet", action="store_true",
                           help="no progress bars (training steps, evaluation cells) and no "
                           "per-run evaluation messages (--quiet: the old name)")  # fmt: skip
    from vqseg_core._version import command_conventions

    return command_conventions(parser)


def _status(spec, out: Path) -> int:
    from vqseg_core.study.train import run_states

    states = run_states(spec, out)
    steps = dict(item.split("=", 1) for item in spec.common if "=" in item).get(
        "schedule.steps", "?"
    )
    for s in states:
        print(f"{s.run.name:24s} {s.state:9s} {s.steps_done:>6d} / {steps} steps")
    counts = {k: sum(s.state == k for s in states) for k in ("finished", "archived", "partial", "missing")}
    print(", ".join(f"{v} {k}" for k, v in counts.items()))
    return 0


def _run(args: argparse.Namespace) -> int:
    from vqseg_core.study.spec import load_study
    from vqseg_core.train.run_guard import check_out_folder

    check_out_folder(args.out)
    spec = load_study(args.study)
    if args.command == "status":
        return _status(spec, args.out)
    if args.command in ("train", "all"):
        from vqseg_core.study.train import train_missing

        def echo(message: str) -> None:
            print(message, file=sys.stderr, flush=True)

        train_missing(
            spec, args.out, device=args.device, limit=args.limit, echo=echo,
            progress=not args.quiet,
        )  # fmt: skip
    if args.command in ("evaluate", "all"):
        from vqseg_core.study.evaluate import evaluate_study

        evaluate_study(spec, args.out, device=args.device, quiet=args.quiet)
    if args.command in ("summary", "all"):
        from vqseg_core.study.summary import write_summary

        write_summary(spec, args.out, copy_to=args.to)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vqseg-study``; returns the exit code."""
    args = build_parser().parse_args(argv)
    return run_main(
        "vqseg-study", lambda: _run(args), debug=args.debug, where=args.out,
        interrupted="run the same command again to resume",
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
