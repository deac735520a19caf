"""NIfTI-1/2 reading and label writing with nibabel (never SimpleITK: it zeroes NaN silently)."""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np

from vqseg_core.io.errors import ImageLoadError
from vqseg_core.io.guards import check_available, check_budget, check_file, check_shape
from vqseg_core.io.orientation import is_valid_affine, spacing_of, to_canonical
from vqseg_core.io.record import Image, SourceGeometry


def read_nifti(path: Path, max_bytes: int) -> Image:
    """Read a ``.nii``/``.nii.gz`` volume as float32 RAS+ (see :mod:`vqseg_core.io.image`).

    2D files load as ``(X, Y, 1)``; a 4D file with a singleton last axis is squeezed; other
    4D, 5D+, RGB and complex files are refused.
    """
    size = check_file(path)
    try:
        img = nib.load(str(path))
    except Exception as err:
        raise ImageLoadError(path, f"not a valid NIfTI file ({type(err).__name__}: {err})") from err
    if not isinstance(img, nib.Nifti1Image | nib.Nifti2Image):
        raise ImageLoadError(path, f"not a single-file NIfTI image ({type(img).__name__})")
    hdr = img.header
    dtype = hdr.get_data_dtype()
    if dtype.fields is not None or dtype.kind not in "biuf":
        raise ImageLoadError(
            path, f"unsupported voxel type {dtype} (RGB/complex NIfTI is not a scalar image)"
        )
    raw_dim = [int(d) for d in hdr["dim"]]
    if raw_dim[0] < 1 or len(img.shape) == 0:
        raise ImageLoadError(path, f"header declares no dimensions (dim[0]={raw_dim[0]})")
    shape = check_shape(path, img.shape)
    if len(shape) >= 5:
        raise ImageLoadError(path, f"unsupported {len(shape)}D image of shape {shape}")
    if len(shape) == 4 and shape[3] != 1:
        raise ImageLoadError(
            path, f"4D image of shape {shape} (time series or channels): load one volume"
        )
    if len(shape) == 1:
        raise ImageLoadError(path, f"1D data of shape {shape} is not an image")
    stored = check_budget(path, shape, dtype.itemsize, max_bytes)
    _check_raw_pixdim(path, img, min(len(shape), 3))
    if not path.name.lower().endswith(".gz"):
        offset = int(img.dataobj.offset)  # type: ignore[attr-defined]
        check_available(path, stored, size - offset)
    affine = np.asarray(img.affine, dtype=float)
    if not is_valid_affine(affine):
        raise ImageLoadError(
            path, f"invalid geometry: affine {affine.tolist()} (zero/NaN spacing?)"
        )
    try:
        with np.errstate(over="ignore", invalid="ignore"):  # overflow to inf is counted later
            data = np.asanyarray(img.dataobj, dtype=np.float32)
    except Exception as err:
        raise ImageLoadError(path, f"voxel data unreadable ({type(err).__name__}: {err})") from err
    if data.shape != shape:
        raise ImageLoadError(path, f"read {data.shape} voxels but header declares {shape}")
    grid = data.reshape(shape[:3] + (1,) * (3 - len(shape[:3])))
    canon, canon_affine, ornt = to_canonical(grid, affine)
    geometry = SourceGeometry(shape=shape, affine=affine, ornt=ornt, nifti_header=hdr.copy())
    return Image(
        array=canon,
        spacing=spacing_of(canon_affine),
        affine=canon_affine,
        source_format="nifti",
        path=path,
        geometry=geometry,
        modality=None,
        metadata=_header_metadata(img, len(shape)),
    )


def _check_raw_pixdim(path: Path, img: Any, n_spatial: int) -> None:
    """Refuse zero/NaN voxel sizes that nibabel would silently replace by 1 mm."""
    if int(img.header["sform_code"]) > 0:
        return
    with nib.openers.ImageOpener(str(path)) as fh:
        raw = type(img.header).from_fileobj(fh, check=False)
    pixdim = np.asarray(raw["pixdim"][1 : 1 + n_spatial], dtype=float)
    if not (np.isfinite(pixdim).all() and (pixdim != 0).all()):
        raise ImageLoadError(
            path, f"voxel sizes pixdim[1:{1 + n_spatial}] = {pixdim.tolist()} are not valid"
        )


def _header_metadata(img: Any, ndim: int) -> dict[str, Any]:
    hdr = img.header
    slope, inter = hdr.get_slope_inter()
    meta: dict[str, Any] = {
        "nifti_version": 2 if isinstance(img, nib.Nifti2Image) else 1,
        "dim": [int(d) for d in hdr["dim"][: ndim + 1]],
        "pixdim": [_num(p) for p in hdr["pixdim"][: ndim + 1]],
        "datatype": str(hdr.get_data_dtype()),
        "scl_slope": _num(slope),
        "scl_inter": _num(inter),
        "qform_code": int(hdr["qform_code"]),
        "sform_code": int(hdr["sform_code"]),
        "axcodes": "".join(nib.aff2axcodes(img.affine)),
        "descrip": _text(hdr["descrip"]),
        "notes": [],
    }
    if ndim == 4:
        meta["notes"].append("singleton 4th axis squeezed")
    if ndim == 2:
        meta["notes"].append("2D NIfTI loaded as a volume of depth 1")
    return meta


def _num(value: Any) -> float | None:
    if value is None:
        return None
    v = float(value)
    return v if math.isfinite(v) else None


def _text(value: Any) -> str:
    raw = value.item() if hasattr(value, "item") else value
    if isinstance(raw, bytes):
        return raw.split(b"\0", 1)[0].decode("latin-1").strip()
    return str(raw)


def write_labels(path: Path, labels: np.ndarray, like: Image) -> None:
    """Write labels (in the source's stored index order) as NIfTI on the source's grid."""
    geom = like.geometry
    if geom.ornt is None:
        raise ValueError(
            f"{like.path.name} is a 2D image: save its segmentation as .png/.tif/.nrrd/.mha"
        )
    data = labels.reshape(geom.shape)
    if geom.nifti_header is not None:
        src = geom.nifti_header
        header = src.copy()
        header.set_data_dtype(data.dtype)
        out = type_for(header)(data, geom.affine, header)
        out.set_qform(src.get_qform(), code=int(src["qform_code"]))
        out.set_sform(src.get_sform(), code=int(src["sform_code"]))
    else:
        out = nib.Nifti1Image(data, geom.affine)
        out.set_qform(geom.affine, code=1)
        out.set_sform(geom.affine, code=1)
    out.header.set_data_dtype(data.dtype)
    out.header.set_slope_inter(1.0, 0.0)
    out.header.set_intent("label")
    out.header["cal_min"], out.header["cal_max"] = 0, float(data.max()) if data.size else 0
    nib.save(out, str(path))


def type_for(header: Any) -> type:
    """The nibabel image class matching a NIfTI-1 or NIfTI-2 header."""
    return nib.Nifti2Image if isinstance(header, nib.Nifti2Header) else nib.Nifti1Image
