"""``vqseg-train CONFIG [--set key=value ...] [--out DIR] [--resume] [--device ...]``.

The entry point of ``vqseg-train``; the command (parser and body) is
:mod:`vqseg_core.train.command`, which ``python -m vqseg_core.train`` runs too.
"""

from __future__ import annotations

from vqseg_core.train.command import build_parser, main

__all__ = ["build_parser", "main"]

if __name__ == "__main__":
    raise SystemExit(main())
