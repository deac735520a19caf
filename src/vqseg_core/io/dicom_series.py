"""Checks of a DICOM series folder made around GDCM's own scan: members, left-outs, positions.

GDCM's series scan silently skips what it cannot read (a truncated slice, a FIFO), and ITK
invents a 1 mm slice spacing when every slice has the same position. These helpers make the
folder's content explicit before the series is read.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass
from pathlib import Path

import SimpleITK as sitk

from vqseg_core.io._dicom_parse import DicomHeader, checked_header
from vqseg_core.io.errors import ImageLoadError
from vqseg_core.io.guards import check_regular

#: Positions closer than this (mm) count as the same position.
SAME_POSITION_MM = 1e-4


@dataclass(frozen=True)
class SliceSpacing:
    """A slice spacing taken from the header because the positions cannot give one."""

    mm: float
    source: str
    note: str


def scan_folder(folder: Path) -> tuple[list[str], str]:
    """The files of the folder's one DICOM series (GDCM order) and its series UID.

    Every entry of ``folder`` is checked to be a regular file before GDCM opens anything
    (sub-folders excepted: the scan is not recursive); a file with the DICOM magic that GDCM
    leaves out of the series is refused with the reason its header gives.
    """
    members = _regular_members(folder)
    try:
        series = sitk.ImageSeriesReader.GetGDCMSeriesIDs(str(folder))
    except Exception as err:
        raise ImageLoadError(folder, f"folder could not be scanned for DICOM ({err})") from err
    if not series:
        raise ImageLoadError(folder, "folder holds no DICOM series")
    if len(series) > 1:
        raise ImageLoadError(
            folder, f"folder holds {len(series)} DICOM series ({', '.join(series)}); pass one"
        )
    files = list(sitk.ImageSeriesReader.GetGDCMSeriesFileNames(str(folder), series[0]))
    kept = {Path(f).name for f in files}
    left_out = [m for m in members if m.name not in kept and _has_dicom_magic(m)]
    if left_out:
        raise ImageLoadError(
            folder,
            f"{len(left_out)} DICOM file(s) of the folder could not be read into the series "
            f"({', '.join(repr(m.name) for m in left_out[:5])}): "
            f"{_why_unreadable(folder, left_out[0])}",
        )
    return files, series[0]


def order_slices(
    folder: Path, files: list[str], headers: list[DicomHeader]
) -> tuple[list[str], SliceSpacing | None]:
    """Keep GDCM's order when the slice positions are distinct; otherwise decide.

    Slices that all share one position (or all lack ImagePositionPatient) are ordered by
    InstanceNumber and spaced by SpacingBetweenSlices (0018,0088), else SliceThickness
    (0018,0050), with a note; without either, or when only some positions repeat (duplicate
    slices, mixed acquisitions), the series is refused.
    """
    if len(files) < 2:
        return files, None
    positions = [_position(h) for h in headers]
    if all(p is not None for p in positions):
        distinct = _distinct_count(positions)  # type: ignore[arg-type]
        if distinct == len(files):
            return files, None
        if distinct > 1:
            raise ImageLoadError(
                folder,
                f"{len(files) - distinct + 1} of {len(files)} slices share a position with "
                "another slice (duplicated slices or several acquisitions in one series)",
            )
        where = "all share one position"
    elif all(p is None for p in positions):
        where = "have no ImagePositionPatient (0020,0032)"
    else:
        raise ImageLoadError(folder, "some slices lack ImagePositionPatient (0020,0032)")
    spacing = _header_spacing(headers[0])
    if spacing is None:
        raise ImageLoadError(
            folder,
            f"the {len(files)} slices {where} and the header gives no SpacingBetweenSlices or "
            "SliceThickness: the slice spacing and order are unknown",
        )
    instances = [_number(h.text.get("instance")) for h in headers]
    if None in instances or len(set(instances)) != len(instances):
        raise ImageLoadError(
            folder,
            f"the {len(files)} slices {where} and lack distinct InstanceNumbers: their order "
            "is unknown",
        )
    order = sorted(range(len(files)), key=lambda i: instances[i])  # type: ignore[arg-type,return-value]
    mm, source = spacing
    note = f"slices {where}: ordered by InstanceNumber, slice spacing {mm:g} mm taken from {source}"
    return [files[i] for i in order], SliceSpacing(mm, source, note)


def _regular_members(folder: Path) -> list[Path]:
    try:
        entries = sorted(os.scandir(folder), key=lambda e: e.name)
    except OSError as err:
        raise ImageLoadError(folder, f"folder cannot be listed ({err.strerror})") from err
    members = []
    for entry in entries:
        path = Path(entry.path)
        if entry.is_dir():
            continue
        check_regular(path, owner=folder, what="folder entry")
        members.append(path)
    return members


def _has_dicom_magic(path: Path) -> bool:
    try:
        with path.open("rb") as fh:
            return fh.read(132)[128:] == b"DICM"
    except OSError:
        return False


def _why_unreadable(folder: Path, path: Path) -> str:
    try:
        checked_header(path, owner=folder)
    except ImageLoadError as err:
        return err.problem
    return f"GDCM did not accept '{path.name}' as part of the series (corrupt or foreign file)"


def _position(header: DicomHeader) -> tuple[float, float, float] | None:
    text = header.text.get("position")
    if not text:
        return None
    try:
        values = tuple(float(v) for v in text.split("\\"))
    except ValueError:
        return None
    if len(values) != 3 or not all(math.isfinite(v) for v in values):
        return None
    return values  # type: ignore[return-value]


def _distinct_count(positions: list[tuple[float, float, float]]) -> int:
    """Positions counted once per :data:`SAME_POSITION_MM` cell (linear in the slice count)."""
    return len({tuple(round(v / SAME_POSITION_MM) for v in p) for p in positions})


def _number(text: str | None) -> float | None:
    try:
        value = float(text) if text else None
    except ValueError:
        return None
    return value if value is not None and math.isfinite(value) else None


def _header_spacing(header: DicomHeader) -> tuple[float, str] | None:
    for key, name in (
        ("spacing_between", "SpacingBetweenSlices (0018,0088)"),
        ("slice_thickness", "SliceThickness (0018,0050)"),
    ):
        value = _number(header.text.get(key))
        if value is not None and value > 0:
            return value, name
    return None
