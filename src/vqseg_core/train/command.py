"""The training command: ``vqseg-train CONFIG [--set key=value ...] [--out DIR] [--resume] ...``.

Its parser and body over :func:`vqseg_core.train.loop.train`, behind both ``vqseg-train``
(:mod:`vqseg_core.cli.train`) and ``python -m vqseg_core.train``. Under ``torchrun`` it runs
DistributedDataParallel (``torchrun --nproc-per-node N -m vqseg_core.train CONFIG ...``).
Exit codes: 0 done, 1 training failed, 2 bad arguments or input, 130 interrupted (a
checkpoint was saved; continue with ``--resume``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def build_parser() -> argparse.ArgumentParser:
    """The argument parser (exposed for documentation and tests)."""
    p = argparse.ArgumentParser(
        prog="vqseg-train",
        description="Train a UNet or VQ-UNet from a YAML config.",
        epilog="Example: vqseg-train configs/smoke.yaml --set model.kind=unet --out runs/smoke-unet",
    )
    p.add_argument("config", type=Path, help="YAML config (see configs/)")
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
    return p


def main(argv: list[str] | None = None) -> int:
    """Entry point of ``vqseg-train``."""
    args = build_parser().parse_args(argv)
    from vqseg_core.train.config import dump_config, load_config

    try:
        config = load_config(args.config, args.overrides)
    except (ValueError, TypeError) as exc:
        print(f"vqseg-train: error: {exc}", file=sys.stderr)
        return 2
    print(dump_config(config), file=sys.stderr)
    if args.print_config:
        return 0
    out = args.out or Path("runs") / config.name

    if args.deterministic:
        import os

        import torch

        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(True)
        torch.backends.cudnn.benchmark = False

    from vqseg_core.checkpoint import CheckpointError
    from vqseg_core.io import ImageLoadError
    from vqseg_core.train.loop import RunExistsError, train

    try:
        result = train(
            config,
            out,
            resume=args.resume,
            allow_config_change=args.allow_config_change,
            device=args.device,
        )
    except (RunExistsError, CheckpointError, ImageLoadError, ValueError) as exc:
        print(f"vqseg-train: error: {exc}", file=sys.stderr)
        return 2
    if result.interrupted:
        return 130
    return 0
