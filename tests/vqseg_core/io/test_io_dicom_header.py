"""The DICOM header walker (``vqseg_core.io._dicom_parse``) that checks files before GDCM.

It must find Pixel Data past sequences of any length, refuse what is cut, and never refuse a
file GDCM decodes faithfully (every DICOM bundled with the installed packages is walked).
"""

from __future__ import annotations

import importlib.util
import struct
from pathlib import Path

import numpy as np
import pytest

from vqseg_core.io import ImageLoadError, load_image
from vqseg_core.io._dicom_bytes import encode_element, encode_file, grey_image_elements
from vqseg_core.io._dicom_parse import read_header, transfer_syntax_problem
from vqseg_core.io.dicom import checked_header

_PIXELS = (np.arange(8 * 8, dtype=np.uint16) * 50).astype("<u2").tobytes()


def _undefined_sequence(depth: int) -> bytes:
    """(0008,1140) SQ of undefined length, items of undefined length, nested ``depth`` deep."""
    inner = encode_element(0x0008, 0x1150, "UI", "1.2.3")
    for _ in range(depth):
        item = struct.pack("<HHI", 0xFFFE, 0xE000, 0xFFFFFFFF) + inner
        item += struct.pack("<HHI", 0xFFFE, 0xE00D, 0)
        inner = (
            struct.pack("<HH", 0x0008, 0x1140) + b"SQ\0\0" + struct.pack("<I", 0xFFFFFFFF)
            + item + struct.pack("<HHI", 0xFFFE, 0xE0DD, 0)
        )  # fmt: skip
    return inner


def _with_sequence(path: Path, pixels: bytes, depth: int) -> Path:
    """A grey 8 x 8 file whose data set carries a nested sequence before the image tags."""
    elements = grey_image_elements(pixels, 8, 8, "MONOCHROME2", bits_stored=16)
    head = [e for e in elements if e[0] == 0x0008]
    rest = b"".join(encode_element(*e) for e in elements if e[0] != 0x0008)
    raw = encode_file(head, tail=_undefined_sequence(depth) + rest)
    path.write_bytes(raw)
    return path


def test_pixel_data_is_found_past_nested_undefined_length_sequences(tmp_path: Path) -> None:
    path = _with_sequence(tmp_path / "seq.dcm", _PIXELS, depth=3)
    header = read_header(path)
    assert header.pixel_length == len(_PIXELS) == header.expected_pixel_bytes()
    assert header.numbers["rows"] == 8 and header.numbers["cols"] == 8
    image = load_image(path)
    np.testing.assert_array_equal(
        image.array, np.frombuffer(_PIXELS, "<u2").reshape(8, 8).astype(np.float32)
    )


def test_short_pixel_data_behind_a_sequence_is_still_refused(tmp_path: Path) -> None:
    path = _with_sequence(tmp_path / "seqshort.dcm", _PIXELS[:40], depth=2)
    with pytest.raises(ImageLoadError, match="truncated pixel data"):
        load_image(path)


def test_absurd_nesting_is_refused_as_malformed(tmp_path: Path) -> None:
    path = _with_sequence(tmp_path / "deep.dcm", _PIXELS, depth=200)
    with pytest.raises(ImageLoadError, match="nested more than"):
        load_image(path)


def test_a_pixel_length_past_the_end_of_the_file_is_truncation(tmp_path: Path) -> None:
    path = tmp_path / "cut.dcm"
    path.write_bytes(encode_file(grey_image_elements(_PIXELS, 8, 8, "MONOCHROME2"))[:-30])
    with pytest.raises(ImageLoadError, match="truncated DICOM file"):
        load_image(path)


def test_12_bit_packed_pixels_count_one_and_a_half_bytes(tmp_path: Path) -> None:
    elements = [
        (0x0028, 0x0100, "US", 12) if e[:2] == (0x0028, 0x0100) else e
        for e in grey_image_elements(b"\0" * 96, 8, 8, "MONOCHROME2", bits_stored=12)
    ]
    path = tmp_path / "packed.dcm"
    path.write_bytes(encode_file(elements))
    assert read_header(path).expected_pixel_bytes() == 96  # 64 values x 12 bits


@pytest.mark.parametrize(
    ("uid", "words"),
    [
        ("1.2.840.10008.1.2.4.203", "High-Throughput JPEG 2000"),
        ("1.2.840.10008.1.2.4.107", "HEVC/H.265"),
        ("1.2.840.10008.1.2.4.100", "MPEG2"),
        ("1.2.3.4.5", "unknown to this reader"),
    ],
)
def test_unsupported_transfer_syntaxes_are_named(uid: str, words: str) -> None:
    problem = transfer_syntax_problem(uid)
    assert problem is not None and words in problem and uid in problem


@pytest.mark.parametrize(
    "uid", ["1.2.840.10008.1.2", "1.2.840.10008.1.2.2", "1.2.840.10008.1.2.4.90"]
)
def test_decodable_transfer_syntaxes_pass(uid: str) -> None:
    assert transfer_syntax_problem(uid) is None


def _bundled_dicoms() -> list[Path]:
    spec = importlib.util.find_spec("data_store")
    if spec is None or not spec.submodule_search_locations:
        return []
    root = Path(next(iter(spec.submodule_search_locations)))
    return sorted(root.rglob("*.dcm"))


def test_every_bundled_dicom_passes_the_walker() -> None:
    files = _bundled_dicoms()
    if not files:
        pytest.skip("package data_store (pydicom test files) not installed")
    refused = {}
    for path in files:
        try:
            checked_header(path)
        except ImageLoadError as err:
            refused[path.name] = err.problem
    assert not refused
    assert len(files) >= 10
