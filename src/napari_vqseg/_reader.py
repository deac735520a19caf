"""napari reader for every format :mod:`vqseg_core.io` loads (NIfTI, NRRD, MHA/MHD, DICOM, PNG,
JPEG, TIFF, JSRT raw). ``get_reader`` never raises; reading errors name the file and the problem."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

SUFFIXES = (
    ".nii", ".nii.gz", ".nrrd", ".nhdr", ".mha", ".mhd", ".dcm", ".dicom",
    ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".img",
)  # fmt: skip


def get_reader(path: str | Sequence[str]) -> Callable[[Any], list[tuple]] | None:
    """The read function for ``path`` (one path or a list), or ``None`` if any is declined."""
    try:
        paths = [path] if isinstance(path, str | Path) else list(path)
        if not paths or not all(_accepts(Path(p)) for p in paths):
            return None
        return read_paths
    except Exception:  # never raise from get_reader
        return None


def _accepts(path: Path) -> bool:
    if path.is_dir():
        return any(p.suffix.lower() in (".dcm", ".dicom") for p in path.iterdir() if p.is_file())
    name = path.name.lower()
    if not name.endswith(SUFFIXES) or not path.is_file():
        return False
    return path.stat().st_size > 0


def read_paths(path: str | Sequence[str]) -> list[tuple]:
    """Load each path as an image or labels layer; ``ImageLoadError`` names a bad file."""
    from napari_vqseg._layers import layer_data_tuple
    from vqseg_core.io import load_image

    paths = [path] if isinstance(path, str | Path) else list(path)
    return [layer_data_tuple(load_image(p, nonfinite="replace")) for p in paths]
