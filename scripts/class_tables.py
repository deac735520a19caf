"""Per-class Dice tables (Table 3 layout) from a ``vqseg-eval noise`` folder's ``cases.csv``.

The tool's own ``table.md`` averages the classes; with several organs the per-class view says
which organ carries a difference.  Usage: python scripts/class_tables.py NOISE_DIR > classes.md
"""

from __future__ import annotations

import csv
import sys
from pathlib import Path

from vqseg_core.evaluation.tables import noise_table

TEXT = {"dataset", "pair", "pair_id", "case_id", "model", "kind"}


def main(folder: str) -> None:
    with (Path(folder) / "cases.csv").open(newline="", encoding="utf-8") as f:
        rows = [
            {k: (v if k in TEXT else float(v) if v != "" else float("nan")) for k, v in r.items()}
            for r in csv.DictReader(f)
        ]
    classes = [c[5:] for c in rows[0] if c.startswith("dice_") and not c.startswith("dice_sd_")]
    classes = [c for c in classes if c != "mean"]
    for kind in dict.fromkeys(r["kind"] for r in rows):
        for name in classes:
            table = noise_table(rows, kind, metric=f"dice_{name}")
            print(table.replace("Table 3 style: Dice", f"Dice {name}", 1), end="\n\n")


if __name__ == "__main__":
    main(sys.argv[1])
