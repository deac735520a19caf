"""Tiny synthetic copies of the official dataset layouts, and a checker of prepared output.

Tests reach these helpers through the ``builders`` fixture (``--import-mode=importlib`` does
not let test modules import sibling helper modules).
"""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

import nibabel as nib
import numpy as np
import pytest
import SimpleITK as sitk
from PIL import Image as PILImage

from vqseg_core.data.layouts import read_dataset
from vqseg_core.io import load_image


def disc(shape: tuple[int, ...], centre: tuple[float, ...], radius: float) -> np.ndarray:
    grids = np.meshgrid(*[np.arange(n) for n in shape], indexing="ij")
    return sum((g - c) ** 2 for g, c in zip(grids, centre, strict=True)) <= radius**2


def png(path: Path, array: np.ndarray, mode: str | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    img = PILImage.fromarray(array)
    img = img.convert(mode) if mode else img
    img.save(path)
    return path


def nifti(path: Path, array: np.ndarray, spacing=(1.0, 1.0, 2.0)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    affine = np.diag([-spacing[0], spacing[1], spacing[2], 1.0])  # LAS, like many scanners
    nib.save(nib.Nifti1Image(array, affine), path)
    return path


def jsrt_official(root: Path, ids=("JPCLN001", "JPCNN002")) -> Path:
    """Raw 2048 .IMG files + SCR-style GIF masks in fold1/fold2 trees."""
    for n, case in enumerate(ids):
        raw = np.full((2048, 2048), 3000, ">u2")
        raw[200:1800, 200:1800] = 1000
        (root / "images").mkdir(parents=True, exist_ok=True)
        raw.tofile(root / "images" / f"{case}.IMG")
        fold = root / "scr" / f"fold{n + 1}" / "masks"
        left = disc((1024, 1024), (500, 700), 200)
        right = disc((1024, 1024), (500, 320), 200)
        heart = disc((1024, 1024), (700, 520), 150)
        for organ, mask in (("left lung", left), ("right lung", right), ("heart", heart)):
            png(fold / organ / f"{case}.gif", mask.astype(np.uint8) * 255, "P")
    return root


def montgomery(root: Path, n: int = 2) -> Path:
    for i in range(1, n + 1):
        name = f"MCUCXR_{i:04d}_{i % 2}.png"
        png(root / "CXR_png" / name, np.full((120, 100), 2000 + i, np.uint16))
        left = disc((120, 100), (60, 70), 20)
        png(root / "ManualMask" / "leftMask" / name, left.astype(np.uint8) * 255)
        png(
            root / "ManualMask" / "rightMask" / name,
            disc((120, 100), (60, 30), 20).astype(np.uint8) * 255,
        )
    return root


def btcv(root: Path, n: int = 2) -> Path:
    base = root / "RawData" / "Training"
    for i in range(1, n + 1):
        ct = np.full((24, 20, 8), -1000, np.int16)
        ct[4:20, 4:16] = 40
        labels = np.zeros((24, 20, 8), np.uint8)
        labels[6:10, 6:10, 2:6] = 6
        labels[12:16, 10:14, 2:6] = 13
        nifti(base / "img" / f"img{i:04d}.nii.gz", ct)
        nifti(base / "label" / f"label{i:04d}.nii.gz", labels)
    return root


def prostate_multisite(root: Path) -> Path:
    for site, case in (("BMC", "Case00"), ("RUNMC", "Case01")):
        img = np.random.default_rng(0).integers(1, 500, (20, 20, 6)).astype(np.int16)
        seg = np.zeros((20, 20, 6), np.uint8)
        seg[5:15, 5:15, 1:5] = 1
        nifti(root / site / f"{case}.nii.gz", img, (0.6, 0.6, 3.0))
        nifti(root / site / f"{case}_segmentation.nii.gz", seg, (0.6, 0.6, 3.0))
    return root


def prostate_nci_isbi(root: Path) -> Path:
    """TCIA-style DICOM series folders + NCI-ISBI NRRD labels on the same geometry."""
    for case in ("ProstateDx-01-0001", "Prostate3T-01-0002"):
        zyx = np.random.default_rng(1).integers(1, 400, (5, 16, 18)).astype(np.int16)
        lab = np.zeros((5, 16, 18), np.uint8)
        lab[1:4, 4:12, 4:9] = 1
        lab[1:4, 4:12, 9:14] = 2
        folder = root / "DICOM" / case / "1.2.3" / "4.5.6"
        _dicom_series(folder, zyx, (0.5, 0.5, 3.0), series_uid=f"1.2.826.0.1.99.{len(case)}")
        label = sitk.GetImageFromArray(lab)
        label.SetSpacing((0.5, 0.5, 3.0))
        label.SetOrigin((-10.0, -20.0, 30.0))
        (root / "Training").mkdir(parents=True, exist_ok=True)
        sitk.WriteImage(label, str(root / "Training" / f"{case}.nrrd"))
    return root


def _dicom_series(folder: Path, zyx: np.ndarray, spacing, series_uid: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    writer = sitk.ImageFileWriter()
    writer.KeepOriginalImageUIDOn()
    for k, plane in enumerate(zyx):
        sl = sitk.GetImageFromArray(plane)
        sl.SetSpacing(spacing[:2])
        tags = {
            "0008|0060": "MR",
            "0008|0016": "1.2.840.10008.5.1.4.1.1.4",
            "0008|0018": f"{series_uid}.{k + 1}",
            "0020|000d": f"{series_uid}.0",
            "0020|000e": series_uid,
            "0020|0013": str(k + 1),
            "0020|0032": f"-10.0\\-20.0\\{30.0 + k * spacing[2]:.4f}",
            "0020|0037": "1\\0\\0\\0\\1\\0",
            "0018|0050": str(spacing[2]),
            "0028|0030": f"{spacing[1]}\\{spacing[0]}",
        }
        for key, value in tags.items():
            sl.SetMetaData(key, value)
        writer.SetFileName(str(folder / f"{k:03d}.dcm"))
        writer.Execute(sl)


def msd_task(root: Path, n: int = 2) -> Path:
    task = root / "Task05_Prostate"
    entries = []
    for i in range(n):
        img = np.random.default_rng(i).integers(1, 300, (16, 16, 6, 2)).astype(np.float32)
        seg = np.zeros((16, 16, 6), np.uint8)
        seg[4:12, 4:12, 1:5] = 1
        seg[6:10, 6:10, 2:4] = 2
        nifti(task / "imagesTr" / f"prostate_{i:02d}.nii.gz", img)
        nifti(task / "labelsTr" / f"prostate_{i:02d}.nii.gz", seg)
        entries.append(
            {
                "image": f"./imagesTr/prostate_{i:02d}.nii.gz",
                "label": f"./labelsTr/prostate_{i:02d}.nii.gz",
            }
        )
    meta = {
        "name": "PROSTATE",
        "modality": {"0": "T2", "1": "ADC"},
        "labels": {"0": "background", "1": "PZ", "2": "TZ"},
        "licence": "CC-BY-SA 4.0",
        "training": entries,
    }
    (task / "dataset.json").write_text(json.dumps(meta), encoding="utf-8")
    return task


def check_prepared(out: Path, n_cases: int, allowed_labels: set[int], dims: int) -> dict:
    """Prepared output pairs images with masks on the same grid, labels in the documented set."""
    doc = json.loads((out / "dataset.json").read_text(encoding="utf-8"))
    assert doc["numTraining"] == n_cases == len(doc["training"])
    for key in ("licence", "source", "citation", "notes", "labels"):
        assert doc[key], key
    assert {int(k) for k in doc["labels"]} == allowed_labels | {0}
    ds = read_dataset(out)
    assert len(ds) == n_cases
    for case in ds:
        image = load_image(case.image)
        assert image.array.ndim == dims
        if allowed_labels:
            labels = load_image(case.label)
            assert labels.shape == image.shape
            values = set(np.unique(labels.array).astype(int).tolist())
            assert values <= allowed_labels | {0}
            assert values & allowed_labels, f"{case.case_id} has no foreground"
            if dims == 3:
                assert np.allclose(labels.affine, image.affine)
    return doc


@pytest.fixture
def builders() -> SimpleNamespace:
    """This module's layout builders and :func:`check_prepared`.

    (A namespace of this file's globals: with several ``conftest.py`` files,
    ``sys.modules["conftest"]`` may be another one.)
    """
    return SimpleNamespace(**globals())


@pytest.fixture(scope="module")
def discs(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Three synthetic disc cases in the paired-folder layout (labels 1 ring, 2 core)."""
    from PIL import Image

    root = tmp_path_factory.mktemp("cli-discs") / "discs"
    (root / "images").mkdir(parents=True)
    (root / "masks").mkdir()
    rng = np.random.default_rng(3)
    yy, xx = np.mgrid[:64, :64]
    for i in range(3):
        cy, cx = rng.uniform(26, 38, 2)
        r = rng.uniform(11, 15)
        label = (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).astype(np.uint8)
        label[(np.abs(yy - cy) < r / 3) & (np.abs(xx - cx) < r / 3)] = 2
        image = 0.2 + 0.3 * (label > 0) + 0.3 * (label == 2) + 0.04 * rng.normal(size=label.shape)
        Image.fromarray((np.clip(image, 0, 1) * 255).astype(np.uint8)).save(
            root / "images" / f"c{i}.png"
        )
        Image.fromarray(label).save(root / "masks" / f"c{i}.png")
    return root
