"""Montgomery County + Shenzhen chest radiographs with manual lung masks -> lungs (1), 2D PNG.

The 589-case bundle of two NLM tuberculosis-screening sets (115 Montgomery, 474 Shenzhen),
already resized by its distributor to 512 x 512 without keeping the aspect ratio, so the pixel
spacing is unknown (``null``). ``--source`` holds ``images/<ID>.png``, ``masks/<ID>.png``
(same names, masks {0, 255}) and ``cases.csv`` (``case,source,tb,lung_fraction``). Every case
keeps its hospital as its ``domain`` (``Montgomery`` / ``Shenzhen``), so results can be split
per hospital. For evaluation only: the project never trains on it (a real domain shift from
JSRT). Montgomery masks exclude the lung behind the heart; the two sets and JSRT/SCR follow
different annotation conventions.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from vqseg_core.data.sources._base import (
    DatasetWriter,
    DataSource,
    PrepareRequest,
    limited,
    progress,
    shared_folder,
)
from vqseg_core.data.sources._chest import add_masked_radiograph

DOMAINS = {"montgomery": "Montgomery", "shenzhen": "Shenzhen"}


def build(request: PrepareRequest, source: Path) -> dict[str, Any]:
    """Convert the bundle under ``source`` into ``request.out``."""
    table = source / "cases.csv"
    if not table.is_file() or not (source / "images").is_dir() or not (source / "masks").is_dir():
        raise ValueError(
            f"{source} is not the Montgomery/Shenzhen layout (cases.csv, images/, masks/)"
        )
    with open(table, newline="", encoding="utf-8") as fh:
        rows = {r["case"]: r for r in csv.DictReader(fh)}
    skipped = []
    writer = DatasetWriter(request.out, 2)
    for case_id in progress(limited(sorted(rows), request), request, "montgomery_shenzhen"):
        hospital = rows[case_id]["source"]
        add_masked_radiograph(
            writer, case_id, source / "images" / f"{case_id}.png",
            source / "masks" / f"{case_id}.png", request.size, skipped,
            domain=DOMAINS.get(hospital.lower(), hospital), tuberculosis=rows[case_id].get("tb") == "1",
        )  # fmt: skip
    return writer.finish(
        name="montgomery_shenzhen",
        description="Montgomery + Shenzhen PA chest radiographs with manual lung masks (589)",
        labels={1: "lungs"},
        source=SOURCE,
        modality="XR",
        notes=[
            "two hospitals (domain = Montgomery / Shenzhen); both lungs in one mask",
            "512x512 from the distributor, aspect ratio not kept: pixel spacing unknown (null)",
            "Montgomery masks exclude the lung behind the heart",
            "evaluation only (never trained on); Shenzhen masks CC BY-NC-SA 4.0; NLM research use",
        ],
        skipped=skipped,
    )


SOURCE = DataSource(
    name="montgomery_shenzhen",
    title="Montgomery + Shenzhen chest radiographs + manual lung masks (2D, 589 cases)",
    origin="NLM Montgomery and Shenzhen CXR sets, 512 px bundle; --source DIR (see docstring)",
    licence="images: NLM research release (no redistribution); Shenzhen masks CC BY-NC-SA 4.0",
    citation="Jaeger et al., Quant Imaging Med Surg 4(6):475-477, 2014; Candemir et al., IEEE "
    "TMI 33(2), 2014; Stirenko et al., IEEE ELNANO 2018",
    build=build,
    locate=lambda: shared_folder("montgomery_shenzhen"),
    needs_source=True,
)
