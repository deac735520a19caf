"""Why the bundled brain pair fails on MNI152: orientation, grid and intensity, checked.

The shifted brain result (docs/results/brain) was far below a quick UNet's on the same labels.
This script checks the pipeline between the two volumes: their orientation and grid (affines),
where the recipe's intensity anchor (the 99.5th percentile) lies (inside the brain, or in the
scalp), each class's intensity after the recipe, and the pair's Dice on MNI152 as the recipe
prepares it and after one linear rescale that puts MNI152's white-matter median where
Colin27's is (a diagnostic, not a method: it uses MNI152's own labels to find the scale).
Prints Markdown.  Usage: python scripts/brain_pipeline_check.py [colin27 dir] [mni152 dir]
"""

from __future__ import annotations

import sys

import nibabel as nib
import numpy as np

from vqseg_core.evaluation import CaseSelection, select_cases
from vqseg_core.io import load_image
from vqseg_core.metrics import dice
from vqseg_core.pretrained import load_pair

CLASSES = {1: "brain (outside grey matter)", 2: "grey matter"}


def case_of(folder: str):
    (case,) = select_cases(folder, CaseSelection(split="all"))
    return load_image(case.image), np.rint(load_image(case.label).array).astype(int)


def main(colin: str = "data/brain-colin27", mni: str = "data/brain-mni152") -> None:
    import torch

    torch.set_num_threads(1)
    pair = load_pair("brain-mri")
    volumes = {"Colin27 (training)": case_of(colin), "MNI152 (shifted)": case_of(mni)}
    prepared, wm_median = {}, {}
    print("| volume | shape | axes | p99.5 of the volume | voxels >= p99.5 outside the brain "
          "| median after the recipe: " + " / ".join(CLASSES.values()) + " |")  # fmt: skip
    print("|---|---|---|---|---|---|")
    for name, (image, labels) in volumes.items():
        x, _ = pair.preprocess(image.array, image.spacing)
        prepared[name] = x[0]
        anchor = np.percentile(image.array, 99.5)
        bright = image.array >= anchor
        outside = float((bright & (labels == 0)).sum() / bright.sum())
        medians = [float(np.median(x[0][labels == c])) for c in CLASSES]
        wm_median[name] = medians[0]
        axes = "".join(nib.aff2axcodes(image.affine)) if image.affine is not None else "?"
        print(f"| {name} | {image.array.shape} | {axes} | {anchor:.0f} | {outside:.1%} | "
              + " / ".join(f"{m:.3f}" for m in medians) + " |")  # fmt: skip
    (train, shifted) = volumes
    scale = wm_median[train] / wm_median[shifted]
    labels = volumes[shifted][1]
    print()
    print(f"Dice on MNI152, all {labels.shape[-1]} axial slices, float32 "
          f"(rescaled: x {scale:.3f}, MNI152's brain-outside-grey-matter median onto Colin27's):")  # fmt: skip
    print()
    print("| model | input | " + " | ".join(CLASSES.values()) + " | whole brain (labels >= 1) |")
    print("|---|---|---|---|---|")
    for member in pair:
        predictor = pair.predictor(member.key, "cpu", "fp32")
        for how, factor in (("as the recipe prepares it", 1.0), ("rescaled", scale)):
            pred = predictor.predict_labels(prepared[shifted] * factor)
            cells = [dice(pred == c, labels == c) for c in CLASSES] + [dice(pred > 0, labels > 0)]
            print(f"| {member.key} | {how} | " + " | ".join(f"{d:.3f}" for d in cells) + " |")


if __name__ == "__main__":
    main(*sys.argv[1:3])
