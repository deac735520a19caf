"""BTCV (Multi-Atlas Labeling Beyond the Cranial Vault) abdominal CT, 13 organs, 3D NIfTI.

Accepted ``--source`` layouts: the Synapse download ``RawData/Training/{img,label}/`` with
``img0001.nii.gz`` / ``label0001.nii.gz`` (any folder holding ``img/`` + ``label/``), or the
MONAI-style ``imagesTr/`` + ``labelsTr/`` with the same names. Cases are matched by number.
No copy is reachable here: nothing is claimed on this data.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.data.sources._base import (
    DatasetWriter,
    DataSource,
    PrepareRequest,
    limited,
    progress,
)

LABELS = {
    1: "spleen",
    2: "right_kidney",
    3: "left_kidney",
    4: "gallbladder",
    5: "esophagus",
    6: "liver",
    7: "stomach",
    8: "aorta",
    9: "inferior_vena_cava",
    10: "portal_and_splenic_vein",
    11: "pancreas",
    12: "right_adrenal_gland",
    13: "left_adrenal_gland",
}


def find_pairs(source: Path) -> dict[str, tuple[Path, Path]]:
    """``"0001"`` -> (image, label) under ``source``."""
    for img_name, lab_name in (("img", "label"), ("imagesTr", "labelsTr")):
        for img_dir in sorted(p for p in source.rglob(img_name) if p.is_dir()):
            lab_dir = img_dir.parent / lab_name
            if lab_dir.is_dir():
                images, labels = _numbered(img_dir), _numbered(lab_dir)
                orphans = sorted(set(labels) - set(images))
                if orphans:
                    raise ValueError(f"labels without an image in {lab_dir}: {orphans[:10]}")
                return {k: (images[k], labels[k]) for k in sorted(set(images) & set(labels))}
    raise ValueError(
        f"no BTCV layout under {source}: expected img/ + label/ or imagesTr/ + labelsTr/"
    )


def _numbered(folder: Path) -> dict[str, Path]:
    out = {}
    for p in folder.iterdir():
        match = re.search(r"(\d+)\.nii(\.gz)?$", p.name)
        if match and not p.name.startswith("."):
            out[match.group(1)] = p
    return out


def build(request: PrepareRequest, source: Path) -> dict[str, Any]:
    """Convert BTCV under ``source`` into ``request.out``."""
    from vqseg_core.io import load_image

    pairs = find_pairs(source)
    if not pairs:
        raise ValueError(f"no BTCV image/label pair under {source}")
    writer = DatasetWriter(request.out, 3)
    for number in progress(limited(sorted(pairs), request), request, "btcv"):
        image = load_image(pairs[number][0])
        labels = load_image(pairs[number][1])
        if labels.shape != image.shape:
            raise ValueError(f"case {number}: label {labels.shape} vs image {image.shape}")
        lab = np.rint(labels.array).astype(np.int64)
        if lab.min() < 0 or lab.max() > max(LABELS):
            raise ValueError(f"case {number}: label values outside 0..13")
        writer.add(
            f"btcv_{number}",
            np.rint(image.array),
            lab,
            spacing=image.spacing,
            affine=image.affine,
            domain="BTCV",
        )
    return writer.finish(
        name="btcv",
        description="BTCV abdominal CT with 13 manually labelled organs",
        labels=LABELS,
        source=SOURCE,
        modality="CT",
        notes=["manual labels (BTCV challenge)", "canonical RAS+ orientation, HU kept"],
    )


SOURCE = DataSource(
    name="btcv",
    title="BTCV abdominal CT, 13 organs (3D)",
    origin="Synapse syn3193805 (registration); --source DIR with img/ + label/",
    licence="Synapse terms of use: research only, no redistribution",
    citation="Landman et al., MICCAI 2015 Multi-Atlas Labeling Beyond the Cranial Vault",
    build=build,
    locate=lambda: None,
    needs_source=True,
)
