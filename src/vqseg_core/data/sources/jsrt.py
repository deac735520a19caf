"""JSRT chest radiographs with SCR expert masks -> lungs (1) and heart (2), 2D PNG.

Accepted ``--source`` layouts (searched recursively):

* official: JSRT raw ``<ID>.IMG`` (2048 x 2048, 12-bit, 0.175 mm) and the SCR masks folders
  ``.../masks/{left lung,right lung,heart[,left clavicle,right clavicle]}/<ID>.gif``
  (1024 x 1024; SCR's ``fold1``/``fold2`` trees are merged);
* converted: ``images/<ID>.IMG.png`` (1024 x 1024) and
  ``masks/{left_lung,right_lung,heart,...}/<ID>.png``.

2048 images are averaged over exact 2 x 2 blocks onto the masks' 1024 grid (0.35 mm).
Labels: 1 = lungs (left | right), 2 = heart. The SCR heart and lung outlines overlap on a
thin rim (well under 1% of the heart): **heart wins**. With ``clavicles`` they get label 3 and
win over lungs (the lung area under the clavicles then reads 3).
"""

from __future__ import annotations

import re
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
    shared_folder,
)
from vqseg_core.data.sources._chest import fit_to_masks, read_mask, resize_case

ORGANS = ("left_lung", "right_lung", "heart", "left_clavicle", "right_clavicle")
SPACING_1024_MM = 0.35


def _organ(folder: str) -> str | None:
    key = re.sub(r"[^a-z]", "", folder.lower())
    return next((o for o in ORGANS if o.replace("_", "") == key), None)


def find_cases(source: Path) -> dict[str, dict[str, Any]]:
    """Case id -> ``{"image": path, "masks": {organ: path}}`` found under ``source``."""
    cases: dict[str, dict[str, Any]] = {}
    for path in sorted(source.rglob("*")):
        if not path.is_file() or path.name.startswith("."):
            continue
        organ = _organ(path.parent.name)
        name = path.name.upper()
        if organ is not None and name.endswith((".GIF", ".PNG")):
            cases.setdefault(case_key(path.name), {"masks": {}})["masks"][organ] = path
        elif organ is None and name.startswith("JP") and name.endswith((".IMG", ".IMG.PNG")):
            cases.setdefault(case_key(path.name), {"masks": {}})["image"] = path
    return cases


def build(request: PrepareRequest, source: Path) -> dict[str, Any]:
    """Convert JSRT + SCR under ``source`` into ``request.out``."""
    from vqseg_core.io import load_image

    found = find_cases(source)
    complete = sorted(
        k
        for k, v in found.items()
        if "image" in v and {"left_lung", "right_lung", "heart"} <= set(v["masks"])
    )
    if not complete:
        raise ValueError(
            f"no JSRT case with image + left/right lung + heart masks under {source} "
            f"({len(found)} partial entries found)"
        )
    clavicles = bool(request.options.get("clavicles", False))
    writer = DatasetWriter(request.out, 2)
    for case_id in progress(limited(complete, request), request, "jsrt"):
        entry = found[case_id]
        masks = {o: read_mask(p) for o, p in entry["masks"].items()}
        labels = np.zeros(masks["heart"].shape, np.uint8)
        labels[masks["left_lung"] | masks["right_lung"]] = 1
        if clavicles:
            for side in ("left_clavicle", "right_clavicle"):
                if side not in masks:
                    raise ValueError(f"{case_id}: no {side} mask (needed by --clavicles)")
                labels[masks[side]] = 3
        labels[masks["heart"]] = 2
        raw = entry["image"].name.upper().endswith(".IMG")
        image = fit_to_masks(load_image(entry["image"]).array, labels.shape, case_id)
        pixel_mm = SPACING_1024_MM * 1024 / len(labels)
        out_image, out_labels, spacing = resize_case(
            image, labels, (pixel_mm, pixel_mm), request.size
        )
        writer.add(
            case_id,
            np.round(out_image),
            out_labels,
            spacing=spacing,
            domain="JSRT",
            nodule=case_id.upper().startswith("JPCLN"),
            bits=12 if raw else 8,
        )
    names = {1: "lungs", 2: "heart", **({3: "clavicles"} if clavicles else {})}
    ids = [e["case_id"] for e in writer.entries]
    parity = {
        "odd": [i for i in ids if int(re.findall(r"\d+", i)[-1]) % 2],
        "even": [i for i in ids if not int(re.findall(r"\d+", i)[-1]) % 2],
    }
    return writer.finish(
        name="jsrt",
        description="JSRT PA chest radiographs with SCR expert lung/heart masks",
        labels=names,
        source=SOURCE,
        modality="XR",
        notes=[
            "manual expert masks (SCR, first observer); images from JSRT",
            "heart wins where SCR heart and lung outlines overlap (a thin rim)",
            "lungs = union of SCR left and right lung masks"
            + ("; clavicles (3) painted over lungs" if clavicles else ""),
            "2048 raw images averaged over 2x2 blocks onto the 1024 mask grid (0.35 mm)",
            "8-bit PNG conversions may hold black rectangles in the top corners: normalise",
            "research/education use only; never ship these images",
        ],
        splits={"convention": "literature: train on one parity, test on the other", **parity},
    )


SOURCE = DataSource(
    name="jsrt",
    title="JSRT chest radiographs + SCR lung/heart masks (2D)",
    origin="JSRT database (jsrt.or.jp) + SCR masks (isi.uu.nl/Research/Databases/SCR); --source DIR",
    licence="JSRT: copyright JSRT, research and education only; SCR masks: research use",
    citation="Shiraishi et al., AJR 174(1):71-74, 2000; van Ginneken et al., MedIA 10(1):19-40, 2006",
    build=build,
    locate=lambda: shared_folder("jsrt_scr"),
    needs_source=True,
)
