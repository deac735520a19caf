"""The ``seeds`` and ``ood`` subcommands of ``vqseg-eval`` (their bodies)."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from vqseg_core.cli._outdir import mark_out
from vqseg_core.command_errors import UserError


def _seeds(args: argparse.Namespace) -> int:
    from vqseg_core.evaluation.seeds import Run, summarise_seeds

    try:
        runs = {k: [Run.parse(v) for v in getattr(args, k)] for k in ("noise", "latent", "shift")}
        labels = dict(item.split("=", 1) for item in args.label)
    except ValueError as exc:
        raise UserError(f"{exc} (labels look like VARIANT=NAME)") from exc
    if not any(runs.values()):
        raise UserError("give at least one --noise, --latent or --shift VARIANT:SEED:DIR")
    absent = [str(r.folder) for rs in runs.values() for r in rs if not r.folder.is_dir()]
    if absent:
        raise UserError(f"{absent[0]}: no such evaluation output")
    mark_out(args.out, args.command)  # only once the inputs are there: a typo writes nothing
    try:
        path = summarise_seeds(
            runs["noise"], runs["latent"], args.out, labels, shift_runs=runs["shift"]
        )
    except FileNotFoundError as exc:
        raise UserError(str(exc)) from exc
    print(f"vqseg-eval: wrote {path}", file=sys.stderr)
    return 0


def _ood(args: argparse.Namespace, pairs: list, selection: Any) -> int:
    from dataclasses import replace

    from vqseg_core.evaluation import dataset_name, select_cases
    from vqseg_core.evaluation.ood import run_ood
    from vqseg_core.perturb import Corruption

    if len(pairs) != 1:
        raise UserError("ood takes one model set")
    train = select_cases(args.dataset, replace(selection, split="train"))
    heldout = select_cases(args.dataset, replace(selection, split="val"))
    shifted = {dataset_name(d): select_cases(d, type(selection)(split="all")) for d in args.shifted}
    kind, level = args.corrupt
    files = run_ood(pairs[0], train, heldout, shifted, args.out,
                    corruption=Corruption(kind, float(level), 0), source=dataset_name(args.dataset))  # fmt: skip
    for path in files.values():
        print(path)
    return 0
