"""Colin27 T1 brain MRI (mricron-data) -> brain (1) and grey matter (2), 3D NIfTI.

``ch2.nii.gz`` (181 x 217 x 181, 1 mm); brain = ``ch2bet > 0``; grey matter = AAL regions
(``aal.nii.gz`` > 0) inside the brain. Grey matter carries 2, so the brain mask is
``labels >= 1``. With ``brain_only`` only label 1 = brain is written.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.data.sources._base import DatasetWriter, DataSource, PrepareRequest, slice_blocks

TEMPLATES = Path("/usr/share/mricron/templates")
INSTALL = "apt-get install mricron-data"
CEILING_NOTE = (
    "label-definition ceiling: Colin27 (ch2bet / AAL) and MNI152 (tissue probabilities) define "
    "brain and grey matter differently; the two definitions agree only to about Dice 0.93 "
    "(brain) / 0.73 (grey matter) (project DATA.md): report that ceiling beside any shifted Dice"
)


def locate() -> Path | None:
    """The mricron templates folder when it holds Colin27."""
    return TEMPLATES if (TEMPLATES / "ch2.nii.gz").is_file() else None


def load(source: Path, brain_only: bool = False) -> tuple[Any, np.ndarray]:
    """Colin27 :class:`~vqseg_core.io.Image` and its labels (see the module docstring)."""
    from vqseg_core.io import load_image

    for name in ("ch2.nii.gz", "ch2bet.nii.gz", "aal.nii.gz"):
        if not (source / name).is_file():
            raise ValueError(f"{source} lacks {name} (expected mricron's templates folder)")
    t1 = load_image(source / "ch2.nii.gz")
    brain = load_image(source / "ch2bet.nii.gz").array > 0
    labels = brain.astype(np.uint8)
    if not brain_only:
        aal = load_image(source / "aal.nii.gz")
        if aal.shape != t1.shape:
            raise ValueError("aal.nii.gz and ch2.nii.gz grids differ")
        labels[(aal.array > 0) & brain] = 2
    return t1, labels


def build(request: PrepareRequest, source: Path) -> dict[str, Any]:
    """Write Colin27 and its labels into ``request.out``."""
    brain_only = bool(request.options.get("brain_only", False))
    t1, labels = load(source, brain_only)
    names = {1: "brain"} if brain_only else {1: "brain", 2: "grey_matter"}
    writer = DatasetWriter(request.out, 3)
    writer.add("colin27", t1.array, labels, spacing=t1.spacing, affine=t1.affine, domain="Colin27")
    return writer.finish(
        name="brain-colin27",
        description="Colin27 T1 brain MRI (one subject, 27 averaged scans) with brain/GM labels",
        labels=names,
        source=SOURCE,
        modality="MR",
        notes=[
            "one subject: held-out slices of one subject, not generalisation",
            "brain = ch2bet > 0"
            + ("" if brain_only else "; grey matter = AAL > 0 inside brain")
            + ("" if brain_only else "; brain mask = labels >= 1"),
            "labels are atlas definitions, not manual tracing",
            CEILING_NOTE,
        ],
        slice_blocks=slice_blocks(labels, 6, names),
    )


SOURCE = DataSource(
    name="brain-colin27",
    title="Colin27 brain MRI + brain / grey-matter labels (3D)",
    origin="Debian package mricron-data, /usr/share/mricron/templates",
    licence="BSD-3 (mricron-data)",
    citation="Holmes et al., JCAT 22(2):324-333, 1998 (Colin27); Tzourio-Mazoyer et al., "
    "NeuroImage 15:273-289, 2002 (AAL)",
    build=build,
    locate=locate,
    install=INSTALL,
)
