"""NCI-ISBI 2013 prostate T2 MRI, sites BMC and RUNMC, 3D NIfTI.

Accepted ``--source`` layouts:

* multi-site NIfTI (as redistributed for domain-generalisation work): ``BMC/Case00.nii.gz`` +
  ``BMC/Case00_segmentation.nii.gz`` and the same under ``RUNMC/``; labels binarised to the
  whole gland (1).
* official NCI-ISBI: label files ``<ID>.nrrd`` (``ProstateDx-*`` = BMC, ``Prostate3T-*`` =
  RUNMC; 1 central gland, 2 peripheral zone) anywhere under ``--source``, and the TCIA DICOM
  series in a folder named ``<ID>`` (its first subfolder holding ``.dcm`` files). With the
  ``whole_gland`` option the zones are merged into 1.

No copy is reachable here: nothing is claimed on this data.
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

SITES = {"prostatedx": "BMC", "prostate3t": "RUNMC"}


def find_cases(source: Path) -> tuple[str, dict[str, tuple[Path, Path, str]]]:
    """(layout, case id -> (image file or DICOM folder, label file, site))."""
    out: dict[str, tuple[Path, Path, str]] = {}
    site_dirs = [source / s for s in ("BMC", "RUNMC") if (source / s).is_dir()]
    if site_dirs:
        for site in site_dirs:
            for seg in sorted(site.glob("*_[sS]egmentation.nii*")):
                stem = case_key(seg.name)[: -len("_segmentation")]
                image = next(site.glob(f"{stem}.nii*"), None)
                if image is None:
                    raise ValueError(f"{seg.name}: no image {stem}.nii(.gz) in {site}")
                out[f"{site.name}_{stem}"] = (image, seg, site.name)
        return "multi-site", out
    for label in sorted(source.rglob("*.nrrd")):
        case_id = case_key(label.name)
        site_name = SITES.get(case_id.split("-")[0].lower())
        if site_name is None:
            continue
        series = _dicom_folder(source, case_id)
        if series is None:
            raise ValueError(f"{label.name}: no DICOM folder named {case_id} under {source}")
        out[case_id] = (series, label, site_name)
    return "nci-isbi", out


def _dicom_folder(source: Path, case_id: str) -> Path | None:
    for top in sorted(p for p in source.rglob(case_id) if p.is_dir()):
        for folder in sorted([top, *(p for p in top.rglob("*") if p.is_dir())]):
            if any(f.suffix.lower() == ".dcm" for f in folder.iterdir()):
                return folder
    return None


def build(request: PrepareRequest, source: Path) -> dict[str, Any]:
    """Convert prostate MRI under ``source`` into ``request.out``."""
    from vqseg_core.io import load_image

    layout, cases = find_cases(source)
    if not cases:
        raise ValueError(
            f"no prostate case under {source}: expected BMC/ and RUNMC/ with CaseXX.nii.gz + "
            "CaseXX_segmentation.nii.gz, or NCI-ISBI <ID>.nrrd labels + DICOM folders"
        )
    whole = layout == "multi-site" or bool(request.options.get("whole_gland", False))
    writer = DatasetWriter(request.out, 3)
    skipped = []
    for case_id in progress(limited(sorted(cases), request), request, "prostate"):
        image_path, label_path, site = cases[case_id]
        image, label = load_image(image_path), load_image(label_path)
        if label.shape != image.shape:
            skipped.append(f"{case_id}: label {label.shape} vs image {image.shape}")
            continue
        lab = np.rint(label.array).astype(np.int64)
        lab = (lab > 0).astype(np.uint8) if whole else np.clip(lab, 0, 2).astype(np.uint8)
        writer.add(
            case_id, image.array, lab, spacing=image.spacing, affine=image.affine, domain=site
        )
    labels = {1: "prostate"} if whole else {1: "central_gland", 2: "peripheral_zone"}
    return writer.finish(
        name="prostate",
        description=f"NCI-ISBI 2013 prostate T2 MRI ({layout} layout), domains BMC / RUNMC",
        labels=labels,
        source=SOURCE,
        modality="MR",
        notes=[
            "manual labels (NCI-ISBI 2013)",
            "domain = site: BMC (1.5T, endorectal coil) vs RUNMC (3T, no coil)",
        ],
        skipped=skipped,
    )


SOURCE = DataSource(
    name="prostate",
    title="NCI-ISBI 2013 prostate MRI, sites BMC / RUNMC (3D)",
    origin="TCIA NCI-ISBI 2013 challenge (DICOM + NRRD labels); --source DIR",
    licence="TCIA data usage policy (CC BY 3.0 for these collections; cite)",
    citation="Bloch et al., NCI-ISBI 2013 Challenge: Automated Segmentation of Prostate "
    "Structures, TCIA 2015",
    build=build,
    locate=lambda: None,
    needs_source=True,
)
