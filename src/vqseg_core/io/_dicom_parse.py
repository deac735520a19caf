"""A minimal DICOM Part 10 header walker: the few top-level tags GDCM does not check for us.

GDCM (through SimpleITK) decodes a file whose Pixel Data is shorter than Rows x Columns x
frames into uninitialised memory, and reports unsupported transfer syntaxes as "Failed to
change to Implicit Transfer Syntax". :func:`read_header` walks the data set up to Pixel Data
(7FE0,0010) without reading voxel bytes (sequences are skipped, defined or undefined length)
and returns what is needed to check the file before decoding: transfer syntax, image size,
frame count, bits, the length of native pixel data and the slice position tags.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from vqseg_core.io.errors import ImageLoadError

IMPLICIT_LE = "1.2.840.10008.1.2"
EXPLICIT_LE = "1.2.840.10008.1.2.1"
DEFLATED_LE = "1.2.840.10008.1.2.1.99"
EXPLICIT_BE = "1.2.840.10008.1.2.2"
NATIVE = (IMPLICIT_LE, EXPLICIT_LE, DEFLATED_LE, EXPLICIT_BE)

#: Transfer syntaxes the GDCM of SimpleITK decodes (native, JPEG, JPEG-LS, JPEG 2000, RLE).
SUPPORTED = {
    IMPLICIT_LE: "Implicit VR Little Endian",
    EXPLICIT_LE: "Explicit VR Little Endian",
    DEFLATED_LE: "Deflated Explicit VR Little Endian",
    EXPLICIT_BE: "Explicit VR Big Endian",
    "1.2.840.10008.1.2.4.50": "JPEG Baseline (Process 1)",
    "1.2.840.10008.1.2.4.51": "JPEG Extended (Process 2 & 4)",
    "1.2.840.10008.1.2.4.57": "JPEG Lossless, Non-Hierarchical (Process 14)",
    "1.2.840.10008.1.2.4.70": "JPEG Lossless, First-Order Prediction",
    "1.2.840.10008.1.2.4.80": "JPEG-LS Lossless",
    "1.2.840.10008.1.2.4.81": "JPEG-LS Lossy (Near-Lossless)",
    "1.2.840.10008.1.2.4.90": "JPEG 2000 (Lossless Only)",
    "1.2.840.10008.1.2.4.91": "JPEG 2000",
    "1.2.840.10008.1.2.4.92": "JPEG 2000 Part 2 Multi-component (Lossless Only)",
    "1.2.840.10008.1.2.4.93": "JPEG 2000 Part 2 Multi-component",
    "1.2.840.10008.1.2.5": "RLE Lossless",
}

#: Names of compressed transfer syntaxes GDCM cannot decode, for the error message.
UNSUPPORTED_NAMES = {
    "1.2.840.10008.1.2.4.94": "JPIP Referenced",
    "1.2.840.10008.1.2.4.95": "JPIP Referenced Deflate",
    "1.2.840.10008.1.2.4.100": "MPEG2 Main Profile / Main Level",
    "1.2.840.10008.1.2.4.100.1": "Fragmentable MPEG2 Main Profile / Main Level",
    "1.2.840.10008.1.2.4.101": "MPEG2 Main Profile / High Level",
    "1.2.840.10008.1.2.4.101.1": "Fragmentable MPEG2 Main Profile / High Level",
    "1.2.840.10008.1.2.4.102": "MPEG-4 AVC/H.264 High Profile / Level 4.1",
    "1.2.840.10008.1.2.4.102.1": "Fragmentable MPEG-4 AVC/H.264 High Profile / Level 4.1",
    "1.2.840.10008.1.2.4.103": "MPEG-4 AVC/H.264 BD-compatible High Profile / Level 4.1",
    "1.2.840.10008.1.2.4.103.1": "Fragmentable MPEG-4 AVC/H.264 BD-compatible High Profile",
    "1.2.840.10008.1.2.4.104": "MPEG-4 AVC/H.264 High Profile For 2D Video",
    "1.2.840.10008.1.2.4.104.1": "Fragmentable MPEG-4 AVC/H.264 High Profile For 2D Video",
    "1.2.840.10008.1.2.4.105": "MPEG-4 AVC/H.264 High Profile For 3D Video",
    "1.2.840.10008.1.2.4.105.1": "Fragmentable MPEG-4 AVC/H.264 High Profile For 3D Video",
    "1.2.840.10008.1.2.4.106": "MPEG-4 AVC/H.264 Stereo High Profile",
    "1.2.840.10008.1.2.4.106.1": "Fragmentable MPEG-4 AVC/H.264 Stereo High Profile",
    "1.2.840.10008.1.2.4.107": "HEVC/H.265 Main Profile / Level 5.1",
    "1.2.840.10008.1.2.4.108": "HEVC/H.265 Main 10 Profile / Level 5.1",
    "1.2.840.10008.1.2.4.110": "JPEG XL Lossless",
    "1.2.840.10008.1.2.4.111": "JPEG XL JPEG Recompression",
    "1.2.840.10008.1.2.4.112": "JPEG XL",
    "1.2.840.10008.1.2.4.201": "High-Throughput JPEG 2000 (Lossless Only)",
    "1.2.840.10008.1.2.4.202": "High-Throughput JPEG 2000 with RPCL Options (Lossless Only)",
    "1.2.840.10008.1.2.4.203": "High-Throughput JPEG 2000",
    "1.2.840.10008.1.2.4.204": "JPIP HTJ2K Referenced",
    "1.2.840.10008.1.2.4.205": "JPIP HTJ2K Referenced Deflate",
    "1.2.840.10008.1.2.8.1": "Deflated Image Frame Compression",
}

_LONG_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"SQ", b"SV", b"UC", b"UN", b"UR", b"UT",
             b"UV"}  # fmt: skip
_UNDEFINED = 0xFFFFFFFF
_PIXEL_DATA = (0x7FE0, 0x0010)
_ITEM, _ITEM_END, _SEQ_END = (0xFFFE, 0xE000), (0xFFFE, 0xE00D), (0xFFFE, 0xE0DD)
_US_TAGS = {(0x0028, 0x0002): "samples", (0x0028, 0x0010): "rows", (0x0028, 0x0011): "cols",
            (0x0028, 0x0100): "bits_allocated"}  # fmt: skip
_TEXT_TAGS = {(0x0028, 0x0008): "frames", (0x0020, 0x0032): "position",
              (0x0020, 0x0013): "instance", (0x0018, 0x0050): "slice_thickness",
              (0x0018, 0x0088): "spacing_between", (0x0028, 0x0004): "photometric",
              (0x0020, 0x0037): "orientation"}  # fmt: skip
_MAX_DEFLATED = 1 << 28  # inflate at most 256 MiB of a deflated data set to find its header
_MAX_DEPTH = 32  # nested sequences deeper than this are a malformed (or hostile) file


@dataclass
class DicomHeader:
    """What the top level of a DICOM file declares (``None`` where a tag is absent).

    ``pixel_length`` is the byte length of native Pixel Data, ``None`` when it is encapsulated
    (compressed, undefined length) or absent (``has_pixels`` tells which).
    """

    transfer_syntax: str = IMPLICIT_LE
    has_pixels: bool = False
    pixel_length: int | None = None
    text: dict[str, str] = field(default_factory=dict)
    numbers: dict[str, int] = field(default_factory=dict)

    @property
    def frames(self) -> int:
        """Number of frames (1 when the tag is absent or unreadable)."""
        try:
            return max(1, int(float(self.text.get("frames", "1") or 1)))
        except ValueError:
            return 1

    def expected_pixel_bytes(self) -> int | None:
        """Frames x rows x cols x samples x BitsAllocated / 8 (rounded up), or ``None`` without
        Rows/Columns/BitsAllocated."""
        n = self.numbers
        if not {"rows", "cols", "bits_allocated"} <= n.keys():
            return None
        samples = n.get("samples", 1) or 1
        values = self.frames * n["rows"] * n["cols"] * samples
        if self.text.get("photometric", "").startswith(("YBR_FULL_422", "YBR_PARTIAL_422")):
            values = self.frames * n["rows"] * n["cols"] * 2
        return (values * n["bits_allocated"] + 7) // 8  # 1-bit and 12-bit packed included


def transfer_syntax_problem(uid: str) -> str | None:
    """Why GDCM cannot decode this transfer syntax, or ``None`` when it can."""
    if uid in SUPPORTED:
        return None
    name = UNSUPPORTED_NAMES.get(uid)
    if name:
        return f"compressed transfer syntax {name} ({uid}) is not supported"
    return f"transfer syntax {uid!r} is not supported (unknown to this reader)"


def read_header(path: Path) -> DicomHeader:
    """Walk ``path``'s data set up to Pixel Data; raise :class:`ImageLoadError` if it is cut."""
    size = os.stat(path).st_size
    with open(path, "rb") as fh:
        try:
            return _Walker(fh, size).header()
        except (struct.error, zlib.error) as err:
            raise ImageLoadError(path, f"DICOM header unreadable ({err})") from err
        except _Malformed as err:
            raise ImageLoadError(path, f"DICOM header malformed: {err}") from None
        except _Truncated as err:
            raise ImageLoadError(path, f"truncated DICOM file: {err}") from None


class _Truncated(Exception):
    pass


class _Malformed(Exception):
    pass


class _Walker:
    def __init__(self, fh: BinaryIO, size: int) -> None:
        self.fh, self.size = fh, size
        self.little, self.explicit = True, True
        self.depth = 0
        self.out = DicomHeader()

    def read(self, n: int) -> bytes:
        data = self.fh.read(n)
        if len(data) < n:
            raise _Truncated(f"element runs past the end of the file ({self.size} bytes)")
        return data

    def skip(self, n: int) -> None:
        if self.fh.tell() + n > self.size:
            raise _Truncated(
                f"an element declares {n} bytes at offset {self.fh.tell()}, past the end of "
                f"the file ({self.size} bytes)"
            )
        self.fh.seek(n, os.SEEK_CUR)

    def header(self) -> DicomHeader:
        preamble = self.fh.read(132)
        if preamble[128:132] != b"DICM":
            self.fh.seek(0)
            self.explicit = preamble[4:6].isalpha() and preamble[4:6].isupper()
            self._elements(top=True, end=None)
            return self.out
        self._meta()
        ts = self.out.transfer_syntax
        if ts == DEFLATED_LE:
            raw = zlib.decompressobj(-15).decompress(self.fh.read(), _MAX_DEFLATED)
            inner = _Walker(_BytesIO(raw), len(raw))
            inner.out = self.out
            inner._elements(top=True, end=None)
            return self.out
        self.little = ts != EXPLICIT_BE
        self.explicit = ts != IMPLICIT_LE
        self._elements(top=True, end=None)
        return self.out

    def _meta(self) -> None:
        while True:
            start = self.fh.tell()
            head = self.fh.read(6)
            if len(head) < 6 or struct.unpack("<H", head[:2])[0] != 0x0002:
                self.fh.seek(start)
                return
            tag = struct.unpack("<HH", head[:4])
            vr = head[4:6]
            if vr in _LONG_VRS:
                length = struct.unpack("<I", self.read(6)[2:])[0]
            else:
                length = struct.unpack("<H", self.read(2))[0]
            value = self.read(length)
            if tag == (0x0002, 0x0010):
                self.out.transfer_syntax = value.decode("ascii", "replace").strip("\0 ")

    def _tag_length(self) -> tuple[tuple[int, int], bytes, int] | None:
        head = self.fh.read(8)
        if not head:
            return None
        if len(head) < 8:
            raise _Truncated(f"{len(head)} stray bytes at the end of the file")
        fmt = "<HH" if self.little else ">HH"
        tag = struct.unpack(fmt, head[:4])
        if tag[0] == 0xFFFE or not self.explicit:
            return tag, b"", struct.unpack("<I" if self.little else ">I", head[4:])[0]
        vr = head[4:6]
        if vr in _LONG_VRS:
            return tag, vr, struct.unpack("<I" if self.little else ">I", self.read(4))[0]
        return tag, vr, struct.unpack("<H" if self.little else ">H", head[6:])[0]

    def _elements(self, top: bool, end: tuple[int, int] | None) -> None:
        while (item := self._tag_length()) is not None:
            tag, vr, length = item
            if tag == end:
                return
            if top and tag == _PIXEL_DATA:
                self.out.has_pixels = True
                if length != _UNDEFINED:
                    self.skip(length)  # refuses a length running past the end of the file
                    self.out.pixel_length = length
                return
            if length == _UNDEFINED:
                self._sequence(implicit_items=vr == b"UN")
            elif top and tag in _US_TAGS and length >= 2:
                self.out.numbers[_US_TAGS[tag]] = struct.unpack(
                    "<H" if self.little else ">H", self.read(length)[:2]
                )[0]
            elif top and tag in _TEXT_TAGS:
                text = self.read(length).decode("latin-1").strip("\0 ")
                self.out.text[_TEXT_TAGS[tag]] = text
            else:
                self.skip(length)

    def _sequence(self, implicit_items: bool) -> None:
        saved = self.explicit
        self.explicit = self.explicit and not implicit_items
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise _Malformed(f"sequences nested more than {_MAX_DEPTH} deep: malformed file")
        try:
            while (item := self._tag_length()) is not None:
                tag, _, length = item
                if tag == _SEQ_END:
                    return
                if tag != _ITEM:
                    raise _Malformed(f"malformed sequence (tag {tag[0]:04X},{tag[1]:04X})")
                if length == _UNDEFINED:
                    self._elements(top=False, end=_ITEM_END)
                else:
                    self.skip(length)
            raise _Truncated("sequence of undefined length never closed")
        finally:
            self.explicit = saved
            self.depth -= 1


class _BytesIO:
    """A bytes buffer with the file methods :class:`_Walker` uses."""

    def __init__(self, data: bytes) -> None:
        self.data, self.pos = data, 0

    def read(self, n: int = -1) -> bytes:
        end = len(self.data) if n < 0 else self.pos + n
        out = self.data[self.pos : end]
        self.pos += len(out)
        return out

    def seek(self, offset: int, whence: int = 0) -> None:
        self.pos = offset if whence == os.SEEK_SET else self.pos + offset

    def tell(self) -> int:
        return self.pos


def checked_header(path: Path, owner: Path | None = None) -> DicomHeader:
    """The file's DICOM header, refused when GDCM would decode it wrongly or not at all.

    Refuses an element running past the end of the file, a transfer syntax GDCM cannot decode
    (named, e.g. "High-Throughput JPEG 2000"), and native Pixel Data shorter than
    NumberOfFrames x Rows x Columns x SamplesPerPixel x bytes per sample (GDCM would fill the
    rest with uninitialised memory). ``owner`` (a series folder) is named in the error, with
    the slice file.
    """
    try:
        header = read_header(path)
    except ImageLoadError as err:
        if owner is None:
            raise
        raise ImageLoadError(owner, f"slice '{path.name}': {err.problem}") from err
    blame, prefix = (path, "") if owner is None else (owner, f"slice '{path.name}': ")
    problem = transfer_syntax_problem(header.transfer_syntax)
    if problem:
        raise ImageLoadError(blame, f"{prefix}{problem}")
    expected = header.expected_pixel_bytes()
    if header.pixel_length is not None and expected is not None and header.pixel_length < expected:
        n = header.numbers
        raise ImageLoadError(
            blame,
            f"{prefix}truncated pixel data: the header declares {header.frames} frame(s) x "
            f"{n['rows']} rows x {n['cols']} columns x {n.get('samples', 1)} sample(s) of "
            f"{n['bits_allocated']} bits = {expected} bytes, but Pixel Data holds "
            f"{header.pixel_length}",
        )
    return header
