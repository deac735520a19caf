"""Shenzhen chest radiographs with manual lung masks -> lungs (1), 2D PNG.

``--source`` is searched recursively for ``CHNCXR_*.png`` images and ``CHNCXR_*_mask.png``
masks (the official NLM ``CXR_png/`` + ``mask/`` layout, or ``images/`` + ``masks/``).
Masks are binarised at > 127 (resized masks are anti-aliased). Images without a mask, or
whose mask has another shape, are skipped and listed in ``dataset.json``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vqseg_core.data.layouts import case_key
from vqseg_core.data.sources._base import (
    DatasetWriter,
    DataSource,
    PrepareRequest,
    limited,
    progress,
    shared_folder,
)
from vqseg_core.data.sources._chest import add_masked_radiograph


def find_cases(source: Path) -> tuple[dict[str, Path], dict[str, Path]]:
    """(images, masks) by case id under ``source``."""
    images: dict[str, Path] = {}
    masks: dict[str, Path] = {}
    for path in sorted(source.rglob("CHNCXR_*")):
        if not path.is_file() or path.suffix.lower() != ".png":
            continue
        key = case_key(path.name)
        if key.lower().endswith("_mask"):
            masks[key[: -len("_mask")]] = path
        else:
            images[key] = path
    return images, masks


def build(request: PrepareRequest, source: Path) -> dict[str, Any]:
    """Convert Shenzhen images + masks under ``source`` into ``request.out``."""
    images, masks = find_cases(source)
    paired = sorted(set(images) & set(masks))
    if not paired:
        raise ValueError(
            f"no Shenzhen image/mask pair (CHNCXR_*.png + CHNCXR_*_mask.png) under {source}"
        )
    skipped = [f"{k}: no mask" for k in sorted(set(images) - set(masks))]
    writer = DatasetWriter(request.out, 2)
    for case_id in progress(limited(paired, request), request, "shenzhen"):
        add_masked_radiograph(
            writer, case_id, images[case_id], masks[case_id], request.size, skipped,
            domain="Shenzhen", tuberculosis=case_id.endswith("_1"),
        )  # fmt: skip
    return writer.finish(
        name="shenzhen",
        description="Shenzhen PA chest radiographs with manual lung masks",
        labels={1: "lungs"},
        source=SOURCE,
        modality="XR",
        notes=[
            "manual lung masks (Stirenko et al. 2018), both lungs in one mask, binarised > 127",
            "pixel spacing unknown (images resized by their distributor): spacing is null",
            "a different hospital, scanner and population from JSRT: a real domain shift",
            "masks CC BY-NC-SA 4.0: non-commercial, share-alike",
        ],
        skipped=skipped,
    )


SOURCE = DataSource(
    name="shenzhen",
    title="Shenzhen chest radiographs + manual lung masks (2D)",
    origin="NLM Shenzhen Hospital CXR set (lhncbc.nlm.nih.gov) + Stirenko 2018 masks; --source DIR",
    licence="images: NLM research release; masks: CC BY-NC-SA 4.0",
    citation="Jaeger et al., Quant Imaging Med Surg 4(6):475-477, 2014; Stirenko et al., 2018",
    build=build,
    locate=lambda: shared_folder("shenzhen_mini10"),
    needs_source=True,
)
