"""What every dataset source shares: its record, the prepare request, and the writer."""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

DATASET_JSON = "dataset.json"
SHARED_DATA_ENV = "VQSEG_SHARED_DATA"


class SourceMissingError(ValueError):
    """The raw data of a source is not on this machine; ``install`` says how to get it."""

    def __init__(self, message: str, install: str | None = None) -> None:
        self.install = install
        super().__init__(message + (f"\n  get it with: {install}" if install else ""))


@dataclass(frozen=True)
class PrepareRequest:
    """Arguments of one ``prepare`` run.

    Attributes:
        out: Output folder (``images/``, ``masks/``, ``dataset.json`` are written into it).
        source: Raw data folder (``None``: the source's default location).
        limit: Convert at most this many cases (sorted by id); ``None`` for all.
        size: 2D sources: resize to ``size x size`` pixels; ``None`` keeps the grid.
        options: Source-specific switches (e.g. ``{"clavicles": True}``).
        progress: Show tqdm progress bars (on a terminal).
    """

    out: Path
    source: Path | None = None
    limit: int | None = None
    size: int | None = None
    options: Mapping[str, Any] = field(default_factory=dict)
    progress: bool = True


@dataclass(frozen=True)
class DataSource:
    """A dataset ``vqseg-data prepare`` can build.

    Attributes:
        name: Command-line name.
        title: One line: what it is.
        origin: Where the raw data comes from.
        licence: Licence / terms of the raw data.
        citation: What to cite.
        build: ``build(request, source_dir)`` writes the dataset.
        locate: Default raw-data location on this machine, or ``None`` when absent.
        install: Command that fetches the raw data (package sources), else ``None``.
        needs_source: ``True`` when the raw data must be given with ``--source``.
    """

    name: str
    title: str
    origin: str
    licence: str
    citation: str
    build: Callable[[PrepareRequest, Path], dict[str, Any]]
    locate: Callable[[], Path | None]
    install: str | None = None
    needs_source: bool = False

    def resolve(self, source: Path | None) -> Path:
        """The raw-data folder to use, or :class:`SourceMissingError`."""
        if source is not None:
            if not Path(source).exists():
                raise SourceMissingError(f"{self.name}: --source {source} does not exist")
            return Path(source)
        found = self.locate()
        if found is None:
            if self.needs_source:
                raise SourceMissingError(
                    f"{self.name}: give the raw data folder with --source DIR ({self.origin})"
                )
            raise SourceMissingError(f"{self.name}: raw data not found", self.install)
        return found


def shared_folder(name: str) -> Path | None:
    """``$VQSEG_SHARED_DATA/<name>`` when that folder exists."""
    root = os.environ.get(SHARED_DATA_ENV)
    if root and (Path(root) / name).is_dir():
        return Path(root) / name
    return None


def package_dir(package: str) -> Path | None:
    """Folder of an installed package, found without importing it."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations)))


def progress(items: Iterable[Any], request: PrepareRequest, desc: str, total: int | None = None):
    """tqdm over ``items`` on stderr when ``request.progress`` and stderr is a terminal."""
    from tqdm import tqdm

    return tqdm(items, desc=desc, total=total, disable=None if request.progress else True)


def limited(items: Sequence[Any], request: PrepareRequest) -> list[Any]:
    """The first ``request.limit`` items (all when ``None``)."""
    return list(items if request.limit is None else items[: request.limit])


class DatasetWriter:
    """Writes ``images/``, ``masks/`` and ``dataset.json`` of a prepared dataset.

    Volumes are written as gzip NIfTI with their affine (canonical RAS+ from
    :mod:`vqseg_core.io`); 2D images as PNG (uint8 or uint16, lossless) with the spacing
    recorded per case in ``dataset.json``.
    """

    def __init__(self, out: Path, spatial_dims: int) -> None:
        self.out = Path(out)
        self.spatial_dims = spatial_dims
        self.entries: list[dict[str, Any]] = []
        (self.out / "images").mkdir(parents=True, exist_ok=True)

    def add(
        self,
        case_id: str,
        image: np.ndarray,
        labels: np.ndarray | None,
        *,
        spacing: Sequence[float] | None,
        affine: np.ndarray | None = None,
        domain: str | None = None,
        **extra: Any,
    ) -> None:
        """Write one case (labels on the image grid, or ``None`` for unlabelled data)."""
        image = np.asarray(image)
        if image.ndim != self.spatial_dims:
            raise ValueError(f"{case_id}: expected a {self.spatial_dims}D image, got {image.shape}")
        if labels is not None and np.shape(labels) != image.shape:
            raise ValueError(
                f"{case_id}: labels shape {np.shape(labels)} differs from image {image.shape}"
            )
        ext = ".png" if self.spatial_dims == 2 else ".nii.gz"
        entry: dict[str, Any] = {"case_id": case_id, "image": f"images/{case_id}{ext}"}
        self._write(self.out / entry["image"], _compact(image), affine, spacing)
        if labels is not None:
            (self.out / "masks").mkdir(exist_ok=True)
            entry["label"] = f"masks/{case_id}{ext}"
            self._write(self.out / entry["label"], _as_labels(labels), affine, spacing)
        entry["domain"] = domain
        entry["shape"] = list(image.shape)
        entry["spacing"] = None if spacing is None else [round(float(s), 6) for s in spacing]
        entry.update(extra)
        self.entries.append(entry)

    def _write(self, path: Path, data: np.ndarray, affine: np.ndarray | None, spacing: Any) -> None:
        if self.spatial_dims == 2:
            from PIL import Image as PILImage

            if data.dtype not in (np.uint8, np.uint16):
                raise ValueError(f"{path.name}: PNG holds uint8/uint16 only, got {data.dtype}")
            PILImage.fromarray(data).save(path, optimize=False, compress_level=6)
            return
        import nibabel as nib

        if affine is None:
            affine = np.diag([*(spacing or (1.0, 1.0, 1.0)), 1.0])
        img = nib.Nifti1Image(data, np.asarray(affine, dtype=float))
        img.set_qform(img.affine, code=1)
        img.set_sform(img.affine, code=1)
        img.header.set_xyzt_units("mm", "sec")
        nib.save(img, path)

    def finish(
        self,
        *,
        name: str,
        description: str,
        labels: Mapping[int, str],
        source: DataSource,
        notes: Sequence[str],
        modality: str,
        **meta: Any,
    ) -> dict[str, Any]:
        """Write ``dataset.json`` (Decathlon-style ``training`` list plus provenance)."""
        if not self.entries:
            raise ValueError(f"{name}: no case was converted")
        unlabelled = all("label" not in e for e in self.entries)
        doc: dict[str, Any] = {
            "name": name,
            "description": description,
            "notes": list(notes),
            "licence": source.licence,
            "source": source.origin,
            "citation": source.citation,
            "modality": {"0": modality},
            "tensorImageSize": f"{self.spatial_dims}D",
            "labels": {"0": "background", **{str(k): v for k, v in sorted(labels.items())}},
            "unlabelled": unlabelled,
            "numTraining": len(self.entries),
            **meta,
            "training": self.entries,
        }
        (self.out / DATASET_JSON).write_text(
            json.dumps(doc, indent=2, default=_jsonable) + "\n", encoding="utf-8"
        )
        return doc


def prepare_out(out: Path, force: bool) -> None:
    """Make ``out`` ready: refuse to overwrite a prepared dataset unless ``force``.

    With ``force`` only ``images/``, ``masks/`` and ``dataset.json`` are removed, never other
    files in ``out``.
    """
    out = Path(out)
    if out.exists() and not out.is_dir():
        raise ValueError(f"--out {out} exists and is not a folder")
    present = [n for n in ("images", "masks", DATASET_JSON) if (out / n).exists()]
    if present and not force:
        raise ValueError(f"{out} already holds a dataset ({', '.join(present)}); use --force")
    for n in present:
        target = out / n
        shutil.rmtree(target) if target.is_dir() else target.unlink()
    out.mkdir(parents=True, exist_ok=True)


def slice_blocks(labels: np.ndarray, n_blocks: int, names: Mapping[int, str]) -> dict[str, Any]:
    """Contiguous blocks along the last axis with per-block label voxel counts."""
    depth = labels.shape[-1]
    edges = np.linspace(0, depth, n_blocks + 1).round().astype(int)
    blocks = []
    for i in range(n_blocks):
        lo, hi = int(edges[i]), int(edges[i + 1])
        block = labels[..., lo:hi]
        counts = {names[k]: int((block == k).sum()) for k in names}
        blocks.append({"index": i, "slices": [lo, hi], "voxels": counts})
    return {"axis": labels.ndim - 1, "blocks": blocks}


def _compact(image: np.ndarray) -> np.ndarray:
    # Integer-valued images keep an integer type (uint8/uint16 for PNG, int16 if it fits).
    a = np.asarray(image)
    if a.dtype.kind in "biu" or (a.size and np.array_equal(a, np.round(a))):
        lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
        for dtype in (np.uint8, np.uint16, np.int16):
            info = np.iinfo(dtype)
            if info.min <= lo and hi <= info.max:
                return a.astype(dtype)
    return a.astype(np.float32)


def _as_labels(labels: np.ndarray) -> np.ndarray:
    a = np.asarray(labels)
    if a.size and (a.min() < 0 or a.max() > 255):
        raise ValueError(f"label values must lie in [0, 255], got [{a.min()}, {a.max()}]")
    return a.astype(np.uint8)


def _jsonable(value: Any) -> Any:
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, np.ndarray):
        return value.tolist()
    raise TypeError(f"not JSON-able: {type(value).__name__}")
