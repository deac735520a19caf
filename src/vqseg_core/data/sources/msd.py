"""Medical Segmentation Decathlon task folders (``TaskXX_Name/``), 3D NIfTI.

``--source`` = a task folder with ``dataset.json``, ``imagesTr/``, ``labelsTr/``. Multi-channel
images (e.g. Task05 Prostate: T2, ADC) are reduced to one channel (option ``channel``, default
0, named in ``dataset.json``). Label names are taken from the task's ``dataset.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.data.layouts import read_dataset
from vqseg_core.data.sources._base import (
    DatasetWriter,
    DataSource,
    PrepareRequest,
    limited,
    progress,
)


def load_channel(path: Path, channel: int) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    """(array RAS+, affine, spacing) of one channel of a 3D/4D NIfTI."""
    import nibabel as nib

    from vqseg_core.io import load_image

    img: Any = nib.load(str(path))
    if len(img.shape) == 3:
        image = load_image(path)
        return image.array, image.affine, image.spacing
    if len(img.shape) != 4 or not 0 <= channel < img.shape[3]:
        raise ValueError(f"{path.name}: shape {img.shape} has no channel {channel}")
    one = nib.as_closest_canonical(img.slicer[..., channel])
    spacing = tuple(float(z) for z in one.header.get_zooms()[:3])
    return np.asarray(one.dataobj, dtype=np.float32), np.asarray(one.affine), spacing


def build(request: PrepareRequest, source: Path) -> dict[str, Any]:
    """Convert a Decathlon task folder into ``request.out``."""
    from vqseg_core.io import load_image

    ds = read_dataset(source)
    channel = int(request.options.get("channel", 0))
    modality = ds.metadata.get("modality", {}) or {}
    writer = DatasetWriter(request.out, 3)
    for case in progress(limited(ds.cases, request), request, "msd"):
        array, affine, spacing = load_channel(case.image, channel)
        labels = load_image(case.label)  # type: ignore[arg-type]
        if labels.shape != array.shape or not np.allclose(labels.affine, affine, atol=1e-3):
            raise ValueError(f"{case.case_id}: label grid differs from the image grid")
        writer.add(
            case.case_id,
            array,
            np.rint(labels.array).astype(np.int64),
            spacing=spacing,
            affine=affine,
            domain=str(ds.metadata.get("name", source.name)),
        )
    task = str(ds.metadata.get("name", source.name))
    return writer.finish(
        name=f"msd-{task}",
        description=f"Medical Segmentation Decathlon {task} (channel {channel})",
        labels={k: v for k, v in ds.labels.items() if k != 0},
        source=SOURCE,
        modality=str(modality.get(str(channel), "unknown")),
        notes=[
            f"channel {channel} ({modality.get(str(channel), '?')}) of the task images",
            "manual labels (Decathlon); canonical RAS+ orientation",
        ],
        task_licence=ds.metadata.get("licence"),
    )


SOURCE = DataSource(
    name="msd",
    title="Medical Segmentation Decathlon task folder (3D)",
    origin="medicaldecathlon.com (e.g. Task05_Prostate); --source TaskXX_Name/",
    licence="CC BY-SA 4.0 (Decathlon)",
    citation="Antonelli et al., Nat Commun 13:4128, 2022; Simpson et al., arXiv:1902.09063",
    build=build,
    locate=lambda: None,
    needs_source=True,
)
