"""Montgomery County chest radiographs with manual lung masks -> lungs (1), 2D PNG.

Official layout (``--source`` = ``MontgomerySet/``): ``CXR_png/MCUCXR_XXXX_Y.png`` and
``ManualMask/leftMask/`` + ``ManualMask/rightMask/`` with the same file names. Pixel spacing
0.0875 mm. Use ``--size`` (e.g. 1024): the originals are about 4000 x 4900 pixels.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.data.layouts import case_key
from vqseg_core.data.sources._base import (
    DatasetWriter,
    DataSource,
    PrepareRequest,
    limited,
    progress,
)
from vqseg_core.data.sources._chest import read_mask, resize_case

SPACING_MM = 0.0875


def build(request: PrepareRequest, source: Path) -> dict[str, Any]:
    """Convert the Montgomery set under ``source`` into ``request.out``."""
    from vqseg_core.io import load_image

    folders = {n: source / n for n in ("CXR_png", "ManualMask/leftMask", "ManualMask/rightMask")}
    absent = [n for n, p in folders.items() if not p.is_dir()]
    if absent:
        raise ValueError(f"{source} is not the Montgomery layout: missing {', '.join(absent)}")
    images = {case_key(p.name): p for p in folders["CXR_png"].glob("*.png")}
    lefts = {case_key(p.name): p for p in folders["ManualMask/leftMask"].glob("*.png")}
    rights = {case_key(p.name): p for p in folders["ManualMask/rightMask"].glob("*.png")}
    paired = sorted(set(images) & set(lefts) & set(rights))
    if not paired:
        raise ValueError(f"no Montgomery case with image + left + right mask under {source}")
    writer = DatasetWriter(request.out, 2)
    for case_id in progress(limited(paired, request), request, "montgomery"):
        image = load_image(images[case_id]).array
        labels = (read_mask(lefts[case_id]) | read_mask(rights[case_id])).astype(np.uint8)
        if labels.shape != image.shape:
            raise ValueError(f"{case_id}: mask {labels.shape} vs image {image.shape}")
        image, labels, spacing = resize_case(image, labels, (SPACING_MM, SPACING_MM), request.size)
        writer.add(
            case_id,
            np.round(image),
            labels,
            spacing=spacing,
            domain="Montgomery",
            tuberculosis=case_id.endswith("_1"),
        )
    return writer.finish(
        name="montgomery",
        description="Montgomery County PA chest radiographs with manual lung masks",
        labels={1: "lungs"},
        source=SOURCE,
        modality="XR",
        notes=["manual lung masks; lungs = left | right mask", "0.0875 mm native pixels"],
        skipped=sorted(set(images) - set(paired)),
    )


SOURCE = DataSource(
    name="montgomery",
    title="Montgomery County chest radiographs + lung masks (2D)",
    origin="NLM Montgomery County CXR set (lhncbc.nlm.nih.gov); --source MontgomerySet/",
    licence="NLM public research release (cite; no redistribution terms stated)",
    citation="Jaeger et al., Quant Imaging Med Surg 4(6):475-477, 2014",
    build=build,
    locate=lambda: None,
    needs_source=True,
)
