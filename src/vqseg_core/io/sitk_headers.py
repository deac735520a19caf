"""What NRRD and MetaImage headers say about their voxel data, checked before ITK reads it.

ITK opens whatever a header names as its data file (``/dev/zero`` reads as zeros, a FIFO
blocks forever), loads raw data shorter than declared, and MetaIO decodes an undecodable zlib
stream into garbage after printing "Uncompress failed". :func:`check_voxel_data` parses the
header itself, requires every detached data file to be a regular file (``stat`` only, nothing
is opened before), checks raw sizes against the header and inflates MetaImage zlib streams
(bounded, output discarded) to prove they decode to exactly the declared bytes.
"""

from __future__ import annotations

import zlib
from pathlib import Path

from vqseg_core.io.errors import ImageLoadError
from vqseg_core.io.guards import check_available, check_regular
from vqseg_core.io.record import image_suffix

_MAX_HEADER_BYTES = 1 << 20
_CHUNK = 1 << 20
_MAX_FILES = 100_000


def check_data_files(path: Path) -> None:
    """Refuse, before ITK parses the header (teem opens detached data files while doing so),
    any data file named by the header that is not a regular file."""
    check_voxel_data(path, None)


def check_voxel_data(path: Path, expected: int | None) -> None:
    """Refuse a NRRD/MetaImage file whose voxel data is missing, short, special or undecodable.

    Args:
        path: The ``.nrrd``/``.nhdr``/``.mha``/``.mhd`` header file (already checked regular).
        expected: Bytes of decoded voxel data the header declares; ``None`` checks only that
            the data files are regular files.
    """
    with path.open("rb") as fh:
        head = fh.read(_MAX_HEADER_BYTES)
    if image_suffix(path) in (".mha", ".mhd"):
        _check_metaimage(path, head, expected)
    else:
        _check_nrrd(path, head, expected)


def _check_metaimage(path: Path, head: bytes, expected: int | None) -> None:
    fields: dict[str, str] = {}
    pos = 0
    lines = head.splitlines(keepends=True)
    tail: list[str] = []
    for n, line in enumerate(lines):
        pos += len(line)
        key, sep, value = line.decode("latin-1").partition("=")
        if not sep:
            continue
        fields[key.strip()] = value.strip()
        if key.strip() == "ElementDataFile":
            tail = [ln.decode("latin-1").strip() for ln in lines[n + 1 :]]
            break
    else:
        return  # no ElementDataFile: ITK refuses the header itself
    data_file = fields["ElementDataFile"]
    compressed = fields.get("CompressedData", "False").lower() == "true"
    try:
        header_size = int(fields.get("HeaderSize", "0"))
    except ValueError:
        header_size = 0
    if data_file == "LOCAL":
        targets, start = [path], pos
    else:
        targets, start = _named_files(path, data_file, tail, "ElementDataFile"), 0
        for target in targets:
            check_regular(target, owner=path, what="data file")
    if expected is None:
        return
    if len(targets) != 1:
        if not compressed:
            skip = 0 if header_size == -1 else max(header_size, 0)
            _check_parts(path, targets, expected, skip)
        return
    target = targets[0]
    total = target.stat().st_size
    if compressed:
        _check_zlib(path, target, start, expected)
    elif header_size == -1:
        check_available(path, expected, total)
    else:
        check_available(path, expected, total - start - max(header_size, 0))


def _check_nrrd(path: Path, head: bytes, expected: int | None) -> None:
    end = head.find(b"\n\n")
    text = head[: end if end >= 0 else len(head)].decode("latin-1")
    lines = text.splitlines()
    fields: dict[str, str] = {}
    tail: list[str] = []
    for n, line in enumerate(lines[1:], start=1):
        key, sep, value = line.partition(":")
        if sep and not line.startswith("#"):
            fields[key.strip().lower()] = value.strip().lstrip("=").strip()
            if key.strip().lower() in ("data file", "datafile"):
                tail = [ln.strip() for ln in lines[n + 1 :]]
                break
    data_file = fields.get("data file", fields.get("datafile"))
    if data_file is None and end < 0:
        return  # no blank line ends the header: ITK refuses it
    raw = fields.get("encoding", "").lower() == "raw" and not (
        "line skip" in fields or "lineskip" in fields
    )
    skip = fields.get("byte skip", fields.get("byteskip", "0"))
    if data_file is None:
        targets, start = [path], end + 2
    else:
        targets, start = _named_files(path, data_file, tail, "data file"), 0
        for target in targets:
            check_regular(target, owner=path, what="data file")
    if expected is None or not raw:
        return  # compressed streams are checked by teem (it reports short output)
    if len(targets) != 1:
        _check_parts(path, targets, expected, int(skip) if skip.isdigit() else 0)
        return
    total = targets[0].stat().st_size
    if skip == "-1":
        check_available(path, expected, total)
    else:
        check_available(path, expected, total - start - (int(skip) if skip.isdigit() else 0))


def _check_parts(path: Path, targets: list[Path], expected: int, skip: int) -> None:
    """Each of the equal parts of raw voxel data split over several files must be complete."""
    per_file = expected // len(targets)
    for target in targets:
        check_available(
            path, per_file, target.stat().st_size - skip, what=f"voxel data in '{target.name}'"
        )


def _named_files(path: Path, spec: str, tail: list[str], field: str) -> list[Path]:
    """The data files a header names: one name, ``LIST`` (names follow), or a printf pattern."""
    base = path.parent
    words = spec.split()
    if not words:
        raise ImageLoadError(path, f"header field {field} is empty")
    if words[0] == "LIST":
        names = [t for t in tail if t and not t.startswith("#")]
        if not names:
            raise ImageLoadError(path, f"{field} LIST names no files")
        return [base / name for name in names[:_MAX_FILES]]
    if "%" in words[0] and len(words) >= 4:
        try:
            first, last, step = int(words[1]), int(words[2]), int(words[3])
            numbers = range(first, last + (1 if step > 0 else -1), step)
            if len(numbers) > _MAX_FILES:
                raise ImageLoadError(path, f"{field} pattern names {len(numbers)} files")
            return [base / (words[0] % i) for i in numbers]
        except (ValueError, TypeError) as err:
            raise ImageLoadError(path, f"{field} pattern {spec!r} is invalid") from err
    return [base / spec]


def _check_zlib(path: Path, target: Path, start: int, expected: int) -> None:
    """Inflate the stream from ``start`` in ``target``; refuse unless it ends at ``expected``."""
    inflater = zlib.decompressobj(47)  # zlib or gzip framing, as MetaIO accepts
    produced = 0
    where = "" if target == path else f" in data file '{target}'"
    with target.open("rb") as fh:
        fh.seek(start)
        try:
            while not inflater.eof:
                chunk = inflater.unconsumed_tail or fh.read(_CHUNK)
                if not chunk:
                    break
                produced += len(inflater.decompress(chunk, _CHUNK))
                if produced > expected:
                    break
        except zlib.error as err:
            raise ImageLoadError(
                path, f"compressed voxel data{where} cannot be decoded (zlib: {err})"
            ) from err
    if produced < expected:
        raise ImageLoadError(
            path,
            f"truncated compressed voxel data{where}: decodes to {produced} bytes, "
            f"the header declares {expected}",
        )
    if produced > expected:
        raise ImageLoadError(
            path,
            f"compressed voxel data{where} decodes to more than the {expected} bytes the "
            "header declares",
        )
