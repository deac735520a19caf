"""The training command: ``vqseg-train CONFIG [--set key=value ...] [--out DIR] [--resume] ...``.

Its parser and body over :func:`vqseg_core.train.loop.train`, behind both ``vqseg-train``
(:mod:`vqseg_core.cli.train`) and ``python -m vqseg_core.train``. Under ``torchrun`` it runs
DistributedDataParallel (``torchrun --nproc-per-node N -m vqseg_core.train CONFIG ...``).
Exit codes: 0 done, 2 bad arguments or input, or training failed (one line on stderr; the
traceback with ``--debug``), 130 interrupted (a checkpoint was saved; continue with ``--resume``).
"""

from __future__ import annotations

import argparse
import errno
import sys
from pathlib import Path

from vqseg_core.command_errors import UserError, add_debug_flag, run_main


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = argparse.ArgumentParser(
        prog="vqseg-train",
        description="Train a UNet or VQ-UNet from a YAML config.",
        epilog="Example: vqseg-train configs/smoke.yaml --set model.kind=unet --out runs/smoke-unet",
    )
    p.add_argument(
        "config",
        help="YAML config file, or the name of a bundled one: smoke, chest-xray, ct-organs, "
        "brain-mri, paper/chest-xray-2d, ... (a named config reads its data from ./data/)",
    )
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a config field, e.g. --set optim.lr=3e-4 (repeatable; values are YAML)",
    )
    p.add_argument("--out", type=Path, default=None, help="output folder (default: runs/NAME)")
    p.add_argument(
        "--resume", action="store_true", help="continue the run in --out from its latest checkpoint"
    )
    p.add_argument(
        "--allow-config-change",
        action="store_true",
        help="resume even though the model or data config differs from the checkpoint's",
    )
    p.add_argument("--device", default="auto", choices=("auto", "cpu", "cuda", "mps"))
    p.add_argument(
        "--deterministic",
        action="store_true",
        help="use only deterministic algorithms (CUDA: slower, bit-reproducible)",
    )
    p.add_argument("--print-config", action="store_true", help="print the resolved config and exit")
    p.add_argument(
        "--no-progress", action="store_true",
        help="no progress bar (the same as --set logging.progress=false)",
    )  # fmt: skip
    p.add_argument(
        "--export",
        default="",
        metavar="FORMATS",
        help="also write copies of the trained network, each with the vqseg-model YAML that "
        "loads it as your own model: torchscript, onnx (comma-separated; onnx needs "
        "pip install 'napari-vqseg[onnx]')",
    )
    add_debug_flag(p)
    from vqseg_core._version import command_conventions

    return command_conventions(p)


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``vqseg-train``; returns the exit code."""
    args = build_parser().parse_args(argv)
    where = args.out
    return run_main(
        "vqseg-train",
        lambda: _main(args),
        debug=args.debug,
        interrupted="continue with --resume",
        where=where,
    )


def _main(args: argparse.Namespace) -> int:
    from vqseg_core.train.config import dump_config, load_config
    from vqseg_core.train.run_guard import check_out_folder

    overrides = [*args.overrides, *(["logging.progress=false"] if args.no_progress else [])]
    config = load_config(args.config, overrides)
    print(dump_config(config), file=sys.stderr)
    if args.print_config:
        return 0
    from vqseg_core.modelset.export_formats import export_formats, parse_formats

    try:  # bad formats or missing ONNX packages fail before any training
        formats = parse_formats(args.export)
    except ValueError as exc:
        raise UserError(f"--export: {exc}") from None
    out = args.out or Path("runs") / config.name
    check_out_folder(out)

    if args.deterministic:
        from vqseg_core.train.determinism import enable

        enable()

    from vqseg_core.train.loop import train

    try:
        result = train(
            config,
            out,
            resume=args.resume,
            allow_config_change=args.allow_config_change,
            device=args.device,
        )
    except OSError as exc:
        if exc.errno in (errno.ENOSPC, errno.EDQUOT):
            raise UserError(
                f"{exc.filename or out}: {exc.strerror}; the last checkpoint is kept: free some "
                "space, then continue with --resume"
            ) from exc
        if exc.filename is None:
            exc.filename = str(out)
        raise
    from vqseg_core.train.curves import write_curves

    write_curves(out)  # loss, Dice and codebook usage at a glance, also after Ctrl-C
    if result.interrupted:
        return 130
    if formats and result.weights is not None:
        try:
            for path in export_formats(result.weights, formats, out):
                print(f"vqseg-train: wrote {path}", file=sys.stderr)
        except (ValueError, RuntimeError) as exc:
            raise UserError(f"--export: {exc} (the run's own export is kept)") from None
    return 0
