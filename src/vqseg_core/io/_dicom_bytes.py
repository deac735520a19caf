"""Minimal DICOM Part 10 encoder (explicit VR little endian) for probes and test fixtures."""

from __future__ import annotations

import struct
from collections.abc import Iterable

EXPLICIT_VR_LE = "1.2.840.10008.1.2.1"
_LONG_VRS = {"OB", "OW", "OF", "SQ", "UT", "UN"}

Element = tuple[int, int, str, bytes | str | int]


def encode_element(group: int, elem: int, vr: str, value: bytes | str | int) -> bytes:
    """One data element; ``US`` ints are packed, strings padded to even length."""
    if isinstance(value, int):
        raw = struct.pack("<H", value) if vr == "US" else struct.pack("<I", value)
    elif isinstance(value, str):
        raw = value.encode("ascii")
        if len(raw) % 2:
            raw += b"\0" if vr == "UI" else b" "
    else:
        raw = value if len(value) % 2 == 0 else value + b"\0"
    head = struct.pack("<HH", group, elem) + vr.encode("ascii")
    if vr in _LONG_VRS:
        return head + b"\0\0" + struct.pack("<I", len(raw)) + raw
    return head + struct.pack("<H", len(raw)) + raw


def encode_file(
    elements: Iterable[Element],
    sop_class: str = "1.2.840.10008.5.1.4.1.1.7",
    transfer_syntax: str = EXPLICIT_VR_LE,
    tail: bytes = b"",
) -> bytes:
    """A complete DICOM file: preamble, file meta group, ``elements`` (sorted by tag), ``tail``.

    The body is always encoded explicit VR little endian; ``transfer_syntax`` is only what the
    meta group declares (for probes of compressed syntaxes, whose ``tail`` holds encapsulated
    Pixel Data).
    """
    meta_body = b"".join(
        [
            encode_element(0x0002, 0x0001, "OB", b"\0\1"),
            encode_element(0x0002, 0x0002, "UI", sop_class),
            encode_element(0x0002, 0x0003, "UI", "1.2.3.4.5.6.7.8.9"),
            encode_element(0x0002, 0x0010, "UI", transfer_syntax),
        ]
    )
    meta = encode_element(0x0002, 0x0000, "UL", len(meta_body)) + meta_body
    body = b"".join(encode_element(*e) for e in sorted(elements, key=lambda e: (e[0], e[1])))
    return b"\0" * 128 + b"DICM" + meta + body + tail


def grey_image_elements(
    pixels: bytes, rows: int, cols: int, photometric: str, bits_stored: int = 12
) -> list[Element]:
    """Elements of a one-frame unsigned 16-bit grey image (no spacing, modality OT)."""
    return [
        (0x0008, 0x0016, "UI", "1.2.840.10008.5.1.4.1.1.7"),
        (0x0008, 0x0018, "UI", "1.2.3.4.5.6.7.8.9"),
        (0x0008, 0x0060, "CS", "OT"),
        (0x0028, 0x0002, "US", 1),
        (0x0028, 0x0004, "CS", photometric),
        (0x0028, 0x0010, "US", rows),
        (0x0028, 0x0011, "US", cols),
        (0x0028, 0x0100, "US", 16),
        (0x0028, 0x0101, "US", bits_stored),
        (0x0028, 0x0102, "US", bits_stored - 1),
        (0x0028, 0x0103, "US", 0),
        (0x7FE0, 0x0010, "OW", pixels),
    ]
