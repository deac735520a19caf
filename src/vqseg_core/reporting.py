"""What every table, CSV and report writes the same way: numbers, CSV files, strict JSON,
package versions.

One home for them (the evaluation commands, the explorer's export and the benchmarks all use
these), so that a number looks the same wherever it is written.
"""

from __future__ import annotations

import csv
import io
import math
import os
import platform
import sys
import tempfile
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

PACKAGES = (
    "napari-vqseg", "torch", "numpy", "scipy", "monai", "scikit-image", "matplotlib", "napari",
    "nibabel", "SimpleITK",
)  # fmt: skip
"""Packages whose versions shape the numbers (recorded beside every result)."""


def fmt(value: Any, digits: int = 3, sci_below: float | None = None) -> str:
    """A number for a table cell: ``digits`` decimals, or scientific notation for nonzero
    magnitudes below ``sci_below``; ``None`` and ``nan`` show as an en dash."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    if sci_below is not None and value != 0 and abs(value) < sci_below:
        return f"{value:.1e}"
    return f"{value:.{digits}f}"


def csv_value(value: Any) -> Any:
    """A value as CSV writes it: floats exactly (``repr``), ``nan`` as ``nan``."""
    if isinstance(value, float):
        return "nan" if value != value else repr(value)
    return value


def write_csv(
    path: str | os.PathLike[str], rows: Iterable[Mapping[str, Any]], first: Sequence[str] = ()
) -> Path:
    """Write dicts as CSV, atomically (temporary file + replace).

    Columns: ``first`` (those present) then the others in order of appearance; list and dict
    values are left out (they belong in JSON). Floats are written exactly (``repr``).
    """
    rows = list(rows)
    columns = [c for c in first if any(c in r for r in rows)]
    for r in rows:
        columns += [k for k in r if k not in columns and not isinstance(r[k], list | dict)]
    buffer = io.StringIO(newline="")
    writer = csv.DictWriter(buffer, columns, extrasaction="ignore", restval="")
    writer.writeheader()
    for r in rows:
        writer.writerow({k: csv_value(v) for k, v in r.items() if k in columns})
    return write_text(path, buffer.getvalue())


def write_text(path: str | os.PathLike[str], text: str) -> Path:
    """Write ``text`` (UTF-8, line endings as given) to ``path`` atomically.

    The text goes to a temporary file in the same folder, is flushed to disk, then replaces
    ``path``: a full disk or a kill leaves ``path`` as it was (never empty or cut short).
    Creates the folder.

    Raises:
        OSError: the folder cannot be created or written (``filename`` names the path).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        try:
            os.fchmod(fd, path.stat().st_mode & 0o7777)
        except OSError:  # a new file: readable by all, as open() would make it under umask 022
            os.fchmod(fd, 0o644)
        with os.fdopen(fd, "w", newline="", encoding="utf-8") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        if exc.filename is None:  # a write or fsync: name the file it was for
            exc.filename = str(path)
        raise
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def jsonable(value: Any) -> Any:
    """``value`` for strict JSON: non-finite floats become ``None`` (never bare ``NaN``),
    numpy scalars plain numbers, tuples lists, mapping keys strings."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return jsonable(value.item())
    return value


def versions(packages: Sequence[str] = PACKAGES) -> dict[str, str]:
    """Python, the platform and the installed versions of ``packages`` ("not installed")."""
    out = {"python": sys.version.split()[0], "platform": platform.platform()}
    for name in packages:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = "not installed"
    return out


def slug(text: str) -> str:
    """``text`` as a file-name part (letters, digits, ``-`` and ``.``)."""
    return "".join(ch if ch.isalnum() or ch in "-." else "-" for ch in str(text))
