"""``vqseg-eval``: how robust are the models of a set on a dataset? Tables, plots and a report.

Examples::

    vqseg-eval noise data/jsrt --set chest-xray --draws 10 --out eval/noise
    vqseg-eval noise data/jsrt --models u.json v.json s.json --out eval/three
    vqseg-eval latent data/jsrt --unet u.json --vqunet v.json --draws 100 --out eval/latent
    vqseg-eval shift --in-domain data/jsrt --shifted data/nih --pair chest-xray --out eval/shift
    vqseg-eval probe data/jsrt --set chest-xray --kinds gaussian --levels 0 10 30 --out eval/probe
    vqseg-eval report eval/noise eval/latent eval/shift --out eval/report.html
    vqseg-eval seeds --noise vqunet:1:eval/s1/noise --noise vqunet:2:eval/s2/noise --out eval/seeds
    torchrun --nproc-per-node 2 -m vqseg_core.cli.eval noise data/jsrt --pair chest-xray --out eval/noise

Re-running a command into the same ``--out`` skips the cells already computed; a folder
holding files ``vqseg-eval`` did not write is refused unless ``--overwrite``.
Exit codes: 0 success, 2 error (one line on stderr; the traceback with ``--debug``), 130
interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from vqseg_core.cli._eval_runs import _ood, _seeds
from vqseg_core.cli._outdir import check_out, check_out_file, mark_out
from vqseg_core.command_errors import UserError, add_debug_flag, run_main

PAPER_LEVELS = ("0", "1", "10", "20", "30")
PAPER_KINDS = ("gaussian", "salt_and_pepper", "poisson")
__all__ = ["UserError", "build_parser", "main"]


def _add_pairs(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group(
        "model sets (one or more; each set's models are compared side by side)"
    )
    g.add_argument(
        "--set", dest="sets", action="append", default=[], metavar="NAME[:KEY,KEY...]",
        help="a bundled model set, all its models or the keys given (repeatable)",
    )  # fmt: skip
    g.add_argument(
        "--models", action="append", nargs="+", type=Path, default=[], metavar="EXPORT",
        help="1-6 vqseg-train exports (NAME.json) as one set (repeatable: one set per use)",
    )  # fmt: skip
    g.add_argument(
        "--pair", action="append", default=[], metavar="NAME",
        help="the UNet and VQ-UNet of a bundled set (repeatable)",
    )  # fmt: skip
    g.add_argument("--unet", type=Path, help="a vqseg-train UNet export (NAME.json)")
    g.add_argument("--vqunet", type=Path, help="the matching VQ-UNet export (NAME.json)")


def _add_selection(p: argparse.ArgumentParser, default_split: str = "val") -> None:
    g = p.add_argument_group("cases (as in training: same split options and seed)")
    g.add_argument(
        "--split",
        choices=("val", "train", "all"),
        default=default_split,
        help=f"default {default_split}",
    )
    g.add_argument(
        "--split-method", choices=("random", "parity", "ids"), default=None,
        help="how training split the cases (default: the split in the models' own export "
        "config, which vqseg-train wrote; random for exports without one)",
    )  # fmt: skip
    g.add_argument(
        "--val-fraction", type=float, default=None,
        help="random split: validation fraction (default: the export's, else 0.2)",
    )  # fmt: skip
    g.add_argument(
        "--split-seed", type=int, default=None,
        help="random split: seed (default: the export's, else 42)",
    )  # fmt: skip
    g.add_argument(
        "--val-cases", nargs="+", default=[], metavar="ID", help="ids split: validation ids"
    )
    g.add_argument(
        "--cases", nargs="+", default=[], metavar="ID", help="evaluate exactly these case ids"
    )
    g.add_argument(
        "--val-slices",
        nargs="+",
        default=[],
        metavar="A:B",
        help="slices split: score only these model-grid axial ranges (the training config's "
        "data.val_slices), each contiguous run as its own case ID#zA-B; use with --split all",
    )
    g.add_argument("--max-cases", type=int, help="first N cases (by id) of the selected split")


def parse_label_map(text: str) -> tuple[tuple[int, int], ...]:
    """``"255:1,7:0"`` -> ``((255, 1), (7, 0))``: mask values to classes (argparse type)."""
    pairs = []
    for item in (s.strip() for s in text.split(",")):
        value, sep, cls = item.partition(":")
        try:
            if not sep:
                raise ValueError
            pairs.append((int(value), int(cls)))
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected VALUE:CLASS[,VALUE:CLASS...] of whole numbers, e.g. 255:1, got {item!r}"
            ) from None
    return tuple(pairs)


def _add_label_map(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--label-map", type=parse_label_map, default=(), metavar="VALUE:CLASS,...",
        help="read the masks' values as the models' classes, e.g. 255:1 for 0/255 masks "
        "(values not listed become background); without it, values the models do not "
        "know are refused, naming the file",
    )  # fmt: skip


def _add_run(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", type=Path, required=True, help="output folder (re-run to resume)")
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument("--precision", default="auto", choices=("auto", "bf16", "fp32"))
    p.add_argument("--no-progress", action="store_true", help="no progress bars")
    _add_overwrite(p)


def _add_overwrite(p: argparse.ArgumentParser) -> None:
    p.add_argument("--overwrite", action="store_true",
                   help="write into an --out holding files vqseg-eval did not write")  # fmt: skip
    add_debug_flag(p, sub=True)


def _add_noise(p: argparse.ArgumentParser, draws: int) -> None:
    p.add_argument("dataset", type=Path, help="dataset folder or CSV (see vqseg_core.data.layouts)")
    p.add_argument("--name", help="dataset name in tables (default: folder name)")
    p.add_argument(
        "--kinds", nargs="+", default=list(PAPER_KINDS), metavar="KIND", help="corruption kinds"
    )
    p.add_argument(
        "--levels", nargs="+", type=float, default=[float(v) for v in PAPER_LEVELS], metavar="L",
        help="levels in each kind's units",
    )
    p.add_argument(
        "--draws", type=int, default=draws, help=f"noise draws per case and level (default {draws})"
    )
    p.add_argument("--seed", type=int, default=0, help="base seed of the noise draws")
    p.add_argument("--batch-size", type=int, default=8, help="draws per forward pass")


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of ``vqseg-eval`` (exposed for documentation and tests)."""
    parser = argparse.ArgumentParser(
        prog="vqseg-eval",
        description="Robustness of the models of a set (UNet, VQ-UNet, ...) on a dataset.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    noise = sub.add_parser("noise", help="Dice/HD95 under noise kinds x levels x draws (Table 3)")
    _add_noise(noise, 10)
    _add_label_map(noise)
    _add_pairs(noise)
    _add_selection(noise)
    _add_run(noise)
    latent = sub.add_parser("latent", help="latent variance and code-flip rate (Table 2, Fig. 2)")
    _add_noise(latent, 20)
    latent.add_argument("--features", type=int, default=64, help="latent channels in the heatmaps")
    _add_pairs(latent)
    _add_selection(latent)
    _add_run(latent)
    shift = sub.add_parser("shift", help="Dice/HD95 in-domain and across domains (Table 4)")
    shift.add_argument(
        "--in-domain", type=Path, required=True, metavar="DATASET", help="the training dataset"
    )
    shift.add_argument(
        "--shifted", type=Path, action="append", required=True, metavar="DATASET",
        help="another domain's dataset (repeatable); all its cases are used",
    )  # fmt: skip
    _add_label_map(shift)
    _add_pairs(shift)
    _add_selection(shift)
    _add_run(shift)
    probe = sub.add_parser(
        "probe", help="mechanism probes: bottleneck ablation, split-path noise, certified codes"
    )
    _add_noise(probe, 1)
    _add_pairs(probe)
    _add_selection(probe)
    _add_run(probe)
    ood = sub.add_parser(
        "ood", help="typicality references on the training split, AUC vs held-out and shifted"
    )
    ood.add_argument("dataset", type=Path, help="the training dataset (train split: fit)")
    ood.add_argument(
        "--shifted", type=Path, action="append", default=[], metavar="DATASET",
        help="another domain's dataset (repeatable; all its cases)",
    )  # fmt: skip
    ood.add_argument("--corrupt", nargs=2, metavar=("KIND", "LEVEL"), default=["gaussian", "20"],
                     help="also score the held-out images under this corruption")  # fmt: skip
    _add_pairs(ood)
    _add_selection(ood)
    _add_run(ood)
    report = sub.add_parser("report", help="one self-contained HTML page from output folders")
    report.add_argument("runs", type=Path, nargs="+", help="vqseg-eval output folders")
    report.add_argument("--out", type=Path, required=True, help="the HTML file to write")
    report.add_argument("--title", default="vqseg robustness report")
    _add_overwrite(report)
    seeds = sub.add_parser(
        "seeds", help="mean ± sd across training seeds of noise/latent/shift output folders"
    )
    for name in ("noise", "latent", "shift"):
        seeds.add_argument(
            f"--{name}", action="append", default=[], metavar="VARIANT:SEED:DIR",
            help=f"a {name} output folder of the pair whose VQ network is VARIANT (repeatable)",
        )  # fmt: skip
    seeds.add_argument(
        "--label", action="append", default=[], metavar="VARIANT=NAME", help="names in tables"
    )
    seeds.add_argument("--out", type=Path, required=True, help="folder for seeds.md, CSV, PNG")
    _add_overwrite(seeds)
    add_debug_flag(parser)
    from vqseg_core._version import command_conventions

    return command_conventions(parser)


def _pairs(args: argparse.Namespace) -> list:
    """The model sets named by ``--set``, ``--models``, ``--pair`` and ``--unet/--vqunet``."""
    from vqseg_core.checkpoint import CheckpointError
    from vqseg_core.evaluation import ModelSource, PairSource

    sources = []
    for spec in args.sets:
        name, _, keys = spec.partition(":")
        sources.append(ModelSource(name=name, keys=tuple(keys.split(",")) if keys else None))
    sources += [ModelSource(files=tuple(files)) for files in args.models]
    sources += [PairSource(name=n) for n in args.pair]
    if args.unet is not None or args.vqunet is not None:
        if args.unet is None or args.vqunet is None:
            raise UserError("--unet and --vqunet go together")
        sources.append(PairSource(unet=args.unet, vqunet=args.vqunet))
    if not sources:
        raise UserError(
            "name the models: --set NAME, --models A.json B.json ..., --pair NAME, "
            "or --unet A.json --vqunet B.json"
        )
    try:
        pairs = [s.load() for s in sources]
    except (CheckpointError, ValueError, KeyError, OSError) as exc:
        raise UserError(str(exc).strip("'\"")) from exc
    ids = [p.name for p in pairs]
    if len(set(ids)) != len(ids):
        raise UserError(f"two model sets share a name: {ids}")
    return pairs


def _export_split(pairs: list) -> dict:
    """The split every model was trained with (from its export's data config), or ``{}``.

    Raises:
        UserError: the models were trained with different splits.
    """
    fields = ("split", "val_fraction", "split_seed", "val_cases", "val_slices")
    found = {}
    for models in pairs:
        for m in models:
            data = m.info.get("data") or {}
            if "split" in data:
                found[f"{models.name}/{m.key}"] = tuple(
                    (f, tuple(v) if isinstance(v := data.get(f), list) else v) for f in fields
                )
    if len(set(found.values())) > 1:
        listed = "; ".join(f"{k}: {dict(v)['split']}" for k, v in found.items())
        raise UserError(
            f"the models were trained with different splits ({listed}): give --split-method"
        )
    return dict(next(iter(found.values()))) if found else {}


def _selection(args: argparse.Namespace, pairs: list | None = None):
    """The cases to score: the flags given, else the split in the models' export config."""
    from vqseg_core.evaluation.selection import exported_selection

    split = _export_split(pairs or []) if args.split_method is None else {}
    method = args.split_method or split.get("split") or "random"
    if method == "slices" and not args.val_slices and args.split == "val":
        # a slice-split volume: its held-out slabs, unless told otherwise
        args.val_slices = list(split.get("val_slices") or ())
        args.split = "all"
    return exported_selection(
        split, split=args.split, method=method, val_fraction=args.val_fraction,
        split_seed=args.split_seed, val_cases=args.val_cases, cases=args.cases,
        max_cases=args.max_cases,
    )  # fmt: skip


def _slabs(args: argparse.Namespace, cases: list, pairs: list) -> list:
    """The held-out slabs of ``cases`` when ``--val-slices`` is given (mapped with the pairs'
    recipe), else ``cases``."""
    if not args.val_slices:
        return cases
    from vqseg_core.evaluation.slabs import slab_cases

    recipes = {repr(m.recipe.to_dict()) for p in pairs for m in p}
    if len(recipes) > 1:
        raise UserError("--val-slices needs models with the same preprocessing recipe")
    try:
        return slab_cases(cases, pairs[0].recipe, args.val_slices)
    except ValueError as exc:
        raise UserError(str(exc)) from exc


def _run(args: argparse.Namespace) -> int:
    from vqseg_core.evaluation import (
        NoiseConfig,
        build_report,
        dataset_name,
        run_latent,
        run_noise,
        run_shift,
        select_cases,
        setup_shard,
        teardown_shard,
    )

    if args.command == "report":
        check_out_file(args.out, overwrite=args.overwrite)
        path = build_report(args.runs, args.out, args.title)
        print(f"vqseg-eval: wrote {path}", file=sys.stderr)
        return 0
    check_out(args.out, args.command, overwrite=args.overwrite)
    if args.command == "seeds":
        return _seeds(args)
    pairs = _pairs(args)
    selection = _selection(args, pairs)
    mark_out(args.out, args.command)
    if args.command == "ood":
        return _ood(args, pairs, selection)
    shard = setup_shard()
    try:
        if args.command == "shift":
            shifted_sel = type(selection)(split="all")
            result = run_shift(
                pairs,
                (dataset_name(args.in_domain), _slabs(args, select_cases(args.in_domain, selection), pairs)),
                {dataset_name(d): select_cases(d, shifted_sel) for d in args.shifted},
                args.out, device=args.device, precision=args.precision,
                progress=not args.no_progress, shard=shard, label_map=dict(args.label_map),
            )  # fmt: skip
        else:
            cases = _slabs(args, select_cases(args.dataset, selection), pairs)
            config = NoiseConfig(
                kinds=tuple(args.kinds), levels=tuple(args.levels), n_draws=args.draws, seed=args.seed,
                device=args.device, precision=args.precision, batch_size=args.batch_size,
                progress=not args.no_progress, label_map=getattr(args, "label_map", ()),
            )  # fmt: skip
            name = args.name or dataset_name(args.dataset)
            if args.command == "probe":
                from vqseg_core.evaluation.probes import run_probes

                result = run_probes(
                    pairs, name, cases, args.out, args.kinds, args.levels, seed=args.seed
                )
            elif args.command == "noise":
                result = run_noise(pairs, name, cases, args.out, config, shard)
            else:
                result = run_latent(
                    pairs, name, cases, args.out, config, shard, n_features=args.features
                )
    finally:
        teardown_shard(shard)
    if shard.is_main:
        print(
            f"vqseg-eval {args.command}: {result.computed} of {result.total} cells computed "
            f"({result.total - result.computed} already in {args.out})",
            file=sys.stderr,
        )
        for path in result.files.values():
            print(path)
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``vqseg-eval``; returns the exit code."""
    args = build_parser().parse_args(argv)
    return run_main(
        "vqseg-eval", lambda: _run(args), debug=args.debug, where=args.out,
        interrupted="re-run with the same --out to resume",
    )  # fmt: skip


if __name__ == "__main__":
    sys.exit(main())
