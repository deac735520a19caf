"""16-bit colour PNGs (RGB, RGBA, grey+alpha) decoded at full depth.

Pillow (and so scikit-image) reduces 16-bit colour PNGs to 8 bits. RGB and RGBA are decoded
with ITK's libpng reader instead; grey+alpha, which SimpleITK cannot represent, is re-wrapped
byte for byte as an 8-bit RGBA PNG of the same width (4 bytes per pixel either way, so the
filters and interlacing decode identically) and its bytes read back as big-endian pairs.
"""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import numpy as np
import SimpleITK as sitk

from vqseg_core.io.errors import ImageLoadError

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
#: PNG colour types with more than one sample per pixel that 16-bit depth affects.
COLOUR_TYPES = {2: "RGB", 4: "grey+alpha", 6: "RGBA"}


def png_layout(path: Path) -> tuple[int, int] | None:
    """``(bit_depth, colour_type)`` from the IHDR chunk, or ``None`` if it is not there."""
    with path.open("rb") as fh:
        head = fh.read(33)
    if len(head) < 33 or not head.startswith(PNG_MAGIC) or head[12:16] != b"IHDR":
        return None
    return head[24], head[25]


def read_png16_colour(path: Path, colour_type: int, shape: tuple[int, int]) -> np.ndarray:
    """The ``(H, W, C)`` uint16 samples of a 16-bit RGB/RGBA/grey+alpha PNG."""
    if colour_type == 4:
        arr = _grey_alpha(path)
    else:
        try:
            arr = sitk.GetArrayFromImage(sitk.ReadImage(str(path), imageIO="PNGImageIO"))
        except Exception as err:
            text = " ".join(str(err).split())[-200:]
            raise ImageLoadError(path, f"16-bit PNG pixel data unreadable ({text})") from err
    allowed = {2: (3, 4), 4: (2,), 6: (4,)}[colour_type]  # RGB + tRNS may come with alpha
    if not (arr.dtype == np.uint16 and arr.ndim == 3 and arr.shape[:2] == shape
            and arr.shape[-1] in allowed):  # fmt: skip
        raise ImageLoadError(
            path,
            f"16-bit {COLOUR_TYPES[colour_type]} PNG decoded as {arr.dtype} {arr.shape}, "
            f"expected uint16 {shape} with {' or '.join(map(str, allowed))} samples per pixel",
        )
    return arr


def _grey_alpha(path: Path) -> np.ndarray:
    from PIL import Image as PILImage

    ihdr, idat = _critical_chunks(path)
    width, height = struct.unpack(">II", ihdr[:8])
    fake_ihdr = ihdr[:8] + bytes([8, 6]) + ihdr[10:]
    fake = PNG_MAGIC + _chunk(b"IHDR", fake_ihdr) + _chunk(b"IDAT", idat) + _chunk(b"IEND", b"")
    try:
        with PILImage.open(io.BytesIO(fake)) as pil:
            pil.load()
            rgba = np.asarray(pil)
    except Exception as err:
        raise ImageLoadError(
            path, f"16-bit PNG pixel data unreadable ({type(err).__name__}: {err})"
        ) from err
    if rgba.shape != (height, width, 4) or rgba.dtype != np.uint8:
        raise ImageLoadError(path, f"16-bit grey+alpha PNG decoded as {rgba.shape}")
    return np.ascontiguousarray(rgba).view(">u2").reshape(height, width, 2).astype(np.uint16)


def _critical_chunks(path: Path) -> tuple[bytes, bytes]:
    """IHDR body and the concatenated IDAT bodies, CRCs checked; refuse a cut file."""
    data = path.read_bytes()
    pos, ihdr, idat, ended = len(PNG_MAGIC), b"", [], False
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        crc = data[pos + 8 + length : pos + 12 + length]
        if len(body) < length or len(crc) < 4:
            raise ImageLoadError(path, f"truncated PNG: chunk {kind!r} runs past the end")
        if zlib.crc32(kind + body) & 0xFFFFFFFF != struct.unpack(">I", crc)[0]:
            raise ImageLoadError(path, f"corrupt PNG: CRC mismatch in chunk {kind!r}")
        if kind == b"IHDR":
            ihdr = body
        elif kind == b"IDAT":
            idat.append(body)
        elif kind == b"IEND":
            ended = True
            break
        pos += 12 + length
    if len(ihdr) != 13 or not idat or not ended:
        raise ImageLoadError(path, "truncated PNG: IHDR, IDAT or IEND chunk missing")
    return ihdr, b"".join(idat)


def _chunk(kind: bytes, body: bytes) -> bytes:
    crc = zlib.crc32(kind + body) & 0xFFFFFFFF
    return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)
