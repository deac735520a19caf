"""MNI152 2009a T1 template (nilearn) -> brain (1) and grey matter (2), 3D NIfTI.

Template 197 x 233 x 189, 1 mm; a population average, not one scan. From the tissue
probability maps (uint8 0-255 -> 0-1): brain = gm + wm > 0.5; grey matter = gm > wm and
gm > 0.5 (label 2, so the brain mask is ``labels >= 1``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.data.sources._base import (
    DatasetWriter,
    DataSource,
    PrepareRequest,
    package_dir,
    slice_blocks,
)
from vqseg_core.data.sources.brain_colin27 import CEILING_NOTE

STEM = "mni_icbm152_{}_tal_nlin_sym_09a_converted.nii.gz"
INSTALL = "pip install --no-deps nilearn==0.14.1"


def locate() -> Path | None:
    """``nilearn/datasets/data`` when nilearn is installed (never imported)."""
    pkg = package_dir("nilearn")
    data = None if pkg is None else pkg / "datasets" / "data"
    return data if data is not None and (data / STEM.format("t1")).is_file() else None


def load(source: Path, brain_only: bool = False) -> tuple[Any, np.ndarray]:
    """The MNI152 T1 :class:`~vqseg_core.io.Image` and its labels."""
    from vqseg_core.io import load_image

    for kind in ("t1", "gm", "wm"):
        if not (source / STEM.format(kind)).is_file():
            raise ValueError(f"{source} lacks {STEM.format(kind)} (expected nilearn's data)")
    t1 = load_image(source / STEM.format("t1"))
    gm, wm = (_probability(load_image(source / STEM.format(k)).array) for k in ("gm", "wm"))
    labels = ((gm + wm) > 0.5).astype(np.uint8)
    if not brain_only:
        labels[(gm > wm) & (gm > 0.5)] = 2
    return t1, labels


def _probability(a: np.ndarray) -> np.ndarray:
    return a / 255.0 if a.max() > 1.0 else a


def build(request: PrepareRequest, source: Path) -> dict[str, Any]:
    """Write the MNI152 template and its labels into ``request.out``."""
    brain_only = bool(request.options.get("brain_only", False))
    t1, labels = load(source, brain_only)
    names = {1: "brain"} if brain_only else {1: "brain", 2: "grey_matter"}
    writer = DatasetWriter(request.out, 3)
    writer.add(
        "mni152_2009a", t1.array, labels, spacing=t1.spacing, affine=t1.affine, domain="MNI152"
    )
    return writer.finish(
        name="brain-mni152",
        description="MNI152 2009a symmetric T1 template with brain/GM labels from tissue maps",
        labels=names,
        source=SOURCE,
        modality="MR",
        notes=[
            "a population-average template, not one scan; test-only shift target for Colin27",
            "brain = gm + wm > 0.5" + ("" if brain_only else "; grey matter = gm > wm & gm > 0.5"),
            "labels from tissue probability maps, not manual tracing",
            CEILING_NOTE,
        ],
        slice_blocks=slice_blocks(labels, 6, names),
    )


SOURCE = DataSource(
    name="brain-mni152",
    title="MNI152 2009a T1 template + brain / grey-matter labels (3D)",
    origin="PyPI package nilearn 0.14.1, datasets/data/mni_icbm152_*_09a_converted.nii.gz",
    licence="BSD-3 (nilearn); MNI template: keep the copyright notice (McConnell Brain "
    "Imaging Centre, free use with notice)",
    citation="Fonov et al., NeuroImage 47:S102, 2009; Fonov et al., NeuroImage 54(1):313-327, 2011",
    build=build,
    locate=locate,
    install=INSTALL,
)
