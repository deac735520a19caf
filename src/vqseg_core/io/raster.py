"""PNG, JPEG and TIFF (8/16-bit grey, RGB(A)) with scikit-image; header checked by Pillow first."""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import numpy as np
import skimage.io

from vqseg_core.io.errors import ImageLoadError
from vqseg_core.io.guards import check_budget, check_file
from vqseg_core.io.png16 import COLOUR_TYPES, png_layout, read_png16_colour
from vqseg_core.io.record import Image, SourceGeometry, image_suffix
from vqseg_core.io.sitk_formats import luminance

_MAGIC = {
    "png": (b"\x89PNG\r\n\x1a\n",),
    "jpeg": (b"\xff\xd8\xff",),
    "tiff": (b"II*\x00", b"MM\x00*", b"II+\x00", b"MM\x00+"),
}
_FORMAT_OF = {".png": "png", ".jpg": "jpeg", ".jpeg": "jpeg", ".tif": "tiff", ".tiff": "tiff"}
_BYTES_PER_BAND = {
    "1": 1,
    "L": 1,
    "P": 1,
    "LA": 1,
    "RGB": 1,
    "RGBA": 1,
    "CMYK": 1,
    "I;16": 2,
    "I;16B": 2,
    "I;16L": 2,
    "I": 4,
    "F": 4,
}


def read_raster(path: Path, max_bytes: int) -> Image:
    """Read a 2D PNG/JPEG/TIFF as float32 ``(H, W)``; RGB(A) -> luminance, noted in metadata.

    16-bit images keep their full range, colour ones included (16-bit RGB/RGBA/grey+alpha
    PNGs are decoded at full depth by :mod:`.png16`, noted). CMYK is converted to RGB by
    Pillow (Adobe's inverted CMYK handled), then to grey, noted. Spacing is unknown (1.0 mm,
    noted).
    """
    from PIL import Image as PILImage

    check_file(path)
    fmt = _FORMAT_OF[image_suffix(path)]
    with path.open("rb") as fh:
        head = fh.read(8)
    if not head.startswith(_MAGIC[fmt]):
        raise ImageLoadError(
            path, f"content is not a {fmt.upper()} file (magic bytes {head[:8]!r})"
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", PILImage.DecompressionBombWarning)
            with PILImage.open(path) as pil:
                width, height = pil.size
                mode = pil.mode
                frames = int(getattr(pil, "n_frames", 1))
    except Exception as err:
        raise ImageLoadError(path, f"header unreadable ({type(err).__name__}: {err})") from err
    if frames != 1:
        raise ImageLoadError(path, f"{frames} frames/pages: only single 2D images are supported")
    bands = len(mode) if mode in ("LA", "RGB", "RGBA", "CMYK") else 1
    layout = png_layout(path) if fmt == "png" else None
    colour16 = layout is not None and layout[0] == 16 and layout[1] in COLOUR_TYPES
    per_band = 2 if colour16 else _BYTES_PER_BAND.get(mode, 4)
    check_budget(path, (height, width, bands), per_band, max_bytes)
    notes = ["spacing unknown: 1.0 mm assumed"]
    if colour16:
        assert layout is not None
        arr = read_png16_colour(path, layout[1], (height, width))
        notes.append(f"16-bit {COLOUR_TYPES[layout[1]]} PNG decoded at full depth")
    elif mode == "CMYK":
        arr = _decode_cmyk(path)
        notes.append("CMYK converted to RGB (Pillow)")
    else:
        arr = _decode(path)
    metadata: dict[str, Any] = {
        "mode": mode,
        "size": [width, height],
        "dtype": str(arr.dtype),
        "notes": notes,
        "spacing_known": False,
    }
    grey = _to_grey(path, arr, metadata)
    if grey.shape != (height, width):
        raise ImageLoadError(
            path, f"decoded shape {grey.shape} but header declares {(height, width)}"
        )
    affine = np.eye(4)
    geometry = SourceGeometry(shape=grey.shape, affine=affine, ornt=None)
    return Image(grey, (1.0, 1.0), affine, fmt, path, geometry, None, metadata)


def _decode(path: Path) -> np.ndarray:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return np.asarray(skimage.io.imread(path))
    except Exception as err:
        raise ImageLoadError(path, f"pixel data unreadable ({type(err).__name__}: {err})") from err


def _decode_cmyk(path: Path) -> np.ndarray:
    from PIL import Image as PILImage

    try:
        with PILImage.open(path) as pil:
            return np.asarray(pil.convert("RGB"))
    except Exception as err:
        raise ImageLoadError(path, f"pixel data unreadable ({type(err).__name__}: {err})") from err


def _to_grey(path: Path, arr: np.ndarray, metadata: dict[str, Any]) -> np.ndarray:
    if arr.ndim == 2:
        return arr.astype(np.float32)
    kept = f", {arr.dtype.itemsize * 8}-bit range kept" if arr.dtype.itemsize > 1 else ""
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        alpha = ", alpha dropped" if arr.shape[-1] == 4 else ""
        metadata["notes"].append(f"rgb converted to grey (Rec. 709 luminance){alpha}{kept}")
        return luminance(arr)
    if arr.ndim == 3 and arr.shape[-1] == 2:
        metadata["notes"].append(f"grey+alpha: alpha dropped{kept}")
        return arr[..., 0].astype(np.float32)
    raise ImageLoadError(path, f"unsupported pixel layout: decoded shape {arr.shape}")


def write_labels(path: Path, labels: np.ndarray, like: Image) -> None:
    """Write a 2D label image (same shape as the source) as lossless PNG or TIFF."""
    if labels.ndim != 2:
        raise ValueError(f"{path.name}: PNG/TIFF output holds 2D labels only, got {labels.shape}")
    skimage.io.imsave(path, labels, check_contrast=False)
