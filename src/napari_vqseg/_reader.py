"""napari reader for every format :mod:`vqseg_core.io` loads (NIfTI, NRRD, MHA/MHD, DICOM, PNG,
JPEG, TIFF, JSRT raw). ``get_reader`` never raises; reading errors name the file and the problem.

The manifest offers it to napari for the medical formats only (napari's own reader keeps the
pixel values of ordinary pictures); PNG/JPEG/TIFF come here when the user picks File > IO
utilities > "Open image or mask with VQ-Seg" (:mod:`napari_vqseg._open`). A ``.img`` file is
only accepted with JSRT's exact size (ANALYZE ``.img`` files are not ours)."""

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
    size = path.stat().st_size
    if name.endswith(".img"):
        from vqseg_core.io.jsrt import JSRT_SIZE

        return size == JSRT_SIZE * JSRT_SIZE * 2  # 2048 x 2048 uint16, no header
    return size > 0


def read_paths(path: str | Sequence[str]) -> list[tuple]:
    """Load each path as an image or labels layer; ``ImageLoadError`` names a bad file."""
    from napari_vqseg._layers import layer_data_tuple
    from vqseg_core.io import load_image

    paths = [path] if isinstance(path, str | Path) else list(path)
    return [layer_data_tuple(load_image(p, nonfinite="replace")) for p in paths]
