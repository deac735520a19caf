"""How far the two brain datasets' label definitions agree: the ceiling of any shifted Dice.

Colin27 (ch2bet mask, AAL grey matter) and MNI152 2009a (tissue probability maps) live in the
same MNI world space on different grids. The MNI152 labels are resampled onto the Colin27 grid
through the two affines (nearest neighbour) and compared with Colin27's labels: a network that
reproduced Colin27's definitions perfectly on MNI152 would score about this Dice there.
Prints a Markdown table.  Usage: python scripts/brain_label_ceiling.py [colin27 dir] [mni152 dir]
"""

from __future__ import annotations

import sys

import numpy as np
from scipy.ndimage import map_coordinates

from vqseg_core.evaluation import CaseSelection, select_cases
from vqseg_core.io import load_image
from vqseg_core.metrics import dice


def labels_of(folder: str):
    (case,) = select_cases(folder, CaseSelection(split="all"))
    return load_image(case.label)


def main(colin: str = "data/brain-colin27", mni: str = "data/brain-mni152") -> None:
    a, b = labels_of(colin), labels_of(mni)
    grid = np.indices(a.shape).reshape(3, -1)
    world = a.affine @ np.vstack([grid, np.ones(grid.shape[1])])
    ijk = (np.linalg.inv(b.affine) @ world)[:3]
    b_on_a = map_coordinates(b.array, ijk, order=0, cval=0).reshape(a.shape)
    la, lb = np.rint(a.array).astype(int), np.rint(b_on_a).astype(int)
    rows = [
        ("brain (label 1: brain outside grey matter)", dice(lb == 1, la == 1)),
        ("grey matter (label 2)", dice(lb == 2, la == 2)),
        ("whole brain mask (labels >= 1)", dice(lb >= 1, la >= 1)),
    ]
    print("| class | Dice, MNI152 labels vs Colin27 labels (Colin27 grid) |")
    print("|---|---|")
    for name, value in rows:
        print(f"| {name} | {float(value):.3f} |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
