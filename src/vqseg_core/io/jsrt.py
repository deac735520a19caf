"""JSRT raw radiographs (``.IMG``): 2048 x 2048, 12-bit, big-endian uint16, 0.175 mm pixels."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vqseg_core.io.errors import ImageLoadError
from vqseg_core.io.guards import check_budget, check_file
from vqseg_core.io.record import Image, SourceGeometry

JSRT_SIZE = 2048
JSRT_SPACING_MM = 0.175
JSRT_MAX_VALUE = 4095


def read_jsrt_raw(path: Path, max_bytes: int) -> Image:
    """Read a JSRT ``.IMG`` file as float32 ``(2048, 2048)``, inverted to bright-bone polarity.

    The raw files store higher values for lower attenuation (dark bone); they are returned as
    ``4095 - v`` so that bone is bright like the PNG conversions and MONOCHROME2 DICOM
    (noted in metadata). Any file that is not exactly 2048*2048*2 bytes, or holds values above
    12 bits, is refused.
    """
    size = check_file(path)
    expected = JSRT_SIZE * JSRT_SIZE * 2
    if size != expected:
        raise ImageLoadError(
            path, f"JSRT raw files are exactly {expected} bytes (2048x2048 uint16), got {size}"
        )
    check_budget(path, (JSRT_SIZE, JSRT_SIZE), 2, max_bytes)
    raw = np.fromfile(path, dtype=">u2").reshape(JSRT_SIZE, JSRT_SIZE)
    peak = int(raw.max())
    if peak > JSRT_MAX_VALUE:
        raise ImageLoadError(
            path, f"value {peak} exceeds 12 bits: not JSRT raw data (wrong byte order or format)"
        )
    array = (JSRT_MAX_VALUE - raw).astype(np.float32)
    metadata = {
        "bits_stored": 12,
        "byte_order": "big",
        "notes": ["JSRT raw inverted (v -> 4095 - v) to bright-bone polarity"],
    }
    spacing = (JSRT_SPACING_MM, JSRT_SPACING_MM)
    affine = np.diag([JSRT_SPACING_MM, JSRT_SPACING_MM, 1.0, 1.0])
    geometry = SourceGeometry(shape=array.shape, affine=affine, ornt=None)
    return Image(array, spacing, affine, "jsrt-raw", path, geometry, "XR", metadata)
