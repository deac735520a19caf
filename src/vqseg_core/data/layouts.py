"""Dataset layouts on disk -> a list of :class:`Case` records.

:func:`read_dataset` auto-detects:

* **CSV** (the authors' format): one row per case, image/label columns (names configurable),
  relative paths resolved against the CSV's folder, optional ``domain`` and ``case_id``
  columns; other columns go to ``Case.extra``.
* **Decathlon / nnU-Net raw / prepared**: a folder with ``dataset.json`` holding a
  ``training`` list (``{"image": ..., "label": ...}``, extra keys kept), or ``imagesTr/`` +
  ``labelsTr/`` with nnU-Net ``_0000`` channel suffixes. Label names come from
  ``dataset.json`` (``{"0": "background"}`` or nnU-Net v2 ``{"background": 0}``).
* **Paired folders**: ``images/`` with ``masks/`` or ``labels/``, matched by stem; double
  suffixes (``.nii.gz``, ``X.IMG.png`` vs ``X.png``) and mask suffixes (``_mask``, ``_seg``,
  ``_label``, ``_gt``, ``_segmentation``) are tolerated.

Splits are case-level (:func:`split_cases`, :func:`split_by_ids`, :func:`split_by_parity`).
"""

from __future__ import annotations

import csv
import json
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

IMAGE_EXTENSIONS = (
    ".gz", ".nii", ".png", ".jpg", ".jpeg", ".tif", ".tiff", ".img", ".nrrd", ".nhdr",
    ".mha", ".mhd", ".dcm", ".dicom", ".gif", ".bmp",
)  # fmt: skip
MASK_SUFFIXES = ("_segmentation", "_mask", "_masks", "_seg", "_label", "_labels", "_gt")
_CHANNEL = re.compile(r"_(\d{4})$")


@dataclass(frozen=True)
class Case:
    """One case of a dataset.

    Attributes:
        case_id: Unique identifier within the dataset.
        image: Image file (first channel for multi-channel nnU-Net cases).
        label: Label file, or ``None`` for unlabelled cases.
        domain: Scanner / site / source name, or ``None``.
        extra: Other fields (CSV columns, dataset.json keys, ``channels`` for nnU-Net).
    """

    case_id: str
    image: Path
    label: Path | None = None
    domain: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dataset:
    """Cases read from one folder or CSV.

    Attributes:
        root: The folder or CSV file read.
        layout: ``"paired"``, ``"dataset-json"``, ``"nnunet"`` or ``"csv"``.
        cases: The cases, sorted by ``case_id``.
        labels: Label value -> name (empty when the layout does not say).
        metadata: The rest of ``dataset.json`` (licence, notes, splits...), else empty.
    """

    root: Path
    layout: str
    cases: tuple[Case, ...]
    labels: Mapping[int, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __len__(self) -> int:
        return len(self.cases)

    def __iter__(self) -> Iterator[Case]:
        return iter(self.cases)

    def case(self, case_id: str) -> Case:
        """The case named ``case_id`` (``KeyError`` if absent)."""
        for c in self.cases:
            if c.case_id == case_id:
                return c
        raise KeyError(case_id)

    @property
    def domains(self) -> tuple[str, ...]:
        """Distinct non-empty domains, sorted."""
        return tuple(sorted({c.domain for c in self.cases if c.domain}))


def read_dataset(
    root_or_csv: str | Path,
    *,
    image_column: str = "image",
    label_column: str = "label",
    domain_column: str = "domain",
    id_column: str = "case_id",
    allow_unlabelled: bool = False,
) -> Dataset:
    """Read a dataset folder or CSV, detecting its layout (see the module docstring).

    Args:
        root_or_csv: Dataset folder, or a ``.csv`` file.
        image_column: CSV column holding image paths.
        label_column: CSV column holding label paths (empty cells: unlabelled).
        domain_column: Optional CSV column with the domain (site/scanner).
        id_column: Optional CSV column with case ids (default: image stem).
        allow_unlabelled: Accept images without labels (else they are an error).

    Returns:
        The :class:`Dataset`.

    Raises:
        ValueError: Missing folder/file, unknown layout, unmatched images or masks (named),
            missing files listed in dataset.json or the CSV, duplicate ids, or no cases.
    """
    path = Path(root_or_csv)
    if not path.exists():
        raise ValueError(f"dataset path {path} does not exist")
    if path.is_file():
        if path.suffix.lower() != ".csv":
            raise ValueError(f"{path} is a file but not a .csv; give a dataset folder or a CSV")
        ds = _read_csv(path, image_column, label_column, domain_column, id_column, allow_unlabelled)
    elif (path / "dataset.json").is_file() and "training" in _json(path / "dataset.json"):
        ds = _read_dataset_json(path, allow_unlabelled)
    elif (path / "imagesTr").is_dir():
        ds = _read_nnunet(path, allow_unlabelled)
    elif (path / "images").is_dir():
        ds = _read_paired(path, allow_unlabelled)
    else:
        raise ValueError(
            f"no known dataset layout in {path}: expected images/ + masks/ (or labels/), "
            "imagesTr/ + labelsTr/, a dataset.json with a 'training' list, or a CSV file"
        )
    if not ds.cases:
        raise ValueError(f"dataset {path} ({ds.layout} layout) holds no cases")
    ids = [c.case_id for c in ds.cases]
    dupes = sorted({i for i in ids if ids.count(i) > 1})
    if dupes:
        raise ValueError(f"duplicate case ids in {path}: {', '.join(dupes[:10])}")
    return ds


def case_key(name: str) -> str:
    """Matching key of a file name: all image extensions stripped (``X.IMG.png`` -> ``X``)."""
    stem = name
    while True:
        lower = stem.lower()
        for ext in IMAGE_EXTENSIONS:
            if lower.endswith(ext) and len(stem) > len(ext):
                stem = stem[: -len(ext)]
                break
        else:
            return stem


def _mask_key(name: str) -> str:
    key = case_key(name)
    for suffix in MASK_SUFFIXES:
        if key.lower().endswith(suffix) and len(key) > len(suffix):
            return key[: -len(suffix)]
    return key


def _files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and not p.name.startswith("."))


def _read_paired(root: Path, allow_unlabelled: bool) -> Dataset:
    mask_dir = next((root / n for n in ("masks", "labels") if (root / n).is_dir()), None)
    if mask_dir is None and not allow_unlabelled:
        raise ValueError(f"{root} has images/ but no masks/ or labels/ folder")
    images = {case_key(p.name): p for p in _files(root / "images")}
    masks: dict[str, Path] = {}
    for p in _files(mask_dir) if mask_dir else []:
        key = case_key(p.name)
        masks[key if key in images else _mask_key(p.name)] = p
    _check_matched(root, images, masks, allow_unlabelled)
    meta = _json(root / "dataset.json") if (root / "dataset.json").is_file() else {}
    cases = tuple(Case(k, images[k], masks.get(k)) for k in sorted(images))
    return Dataset(root, "paired", cases, _label_names(meta), _rest(meta))


def _read_nnunet(root: Path, allow_unlabelled: bool) -> Dataset:
    label_dir = root / "labelsTr"
    if not label_dir.is_dir() and not allow_unlabelled:
        raise ValueError(f"{root} has imagesTr/ but no labelsTr/ folder")
    channels: dict[str, list[Path]] = {}
    for p in _files(root / "imagesTr"):
        key = case_key(p.name)
        match = _CHANNEL.search(key)
        channels.setdefault(key[: match.start()] if match else key, []).append(p)
    images = {k: v[0] for k, v in channels.items()}
    masks = {case_key(p.name): p for p in _files(label_dir)} if label_dir.is_dir() else {}
    _check_matched(root, images, masks, allow_unlabelled)
    meta = _json(root / "dataset.json") if (root / "dataset.json").is_file() else {}
    cases = tuple(
        Case(k, images[k], masks.get(k), extra={"channels": [str(p) for p in channels[k]]})
        for k in sorted(images)
    )
    return Dataset(root, "nnunet", cases, _label_names(meta), _rest(meta))


def _read_dataset_json(root: Path, allow_unlabelled: bool) -> Dataset:
    meta = _json(root / "dataset.json")
    entries = meta["training"]
    if not isinstance(entries, list):
        raise ValueError(f"{root / 'dataset.json'}: 'training' must be a list")
    cases: list[Case] = []
    missing: list[str] = []
    for entry in entries:
        entry = {"image": entry} if isinstance(entry, str) else dict(entry)
        image = _resolve(root, entry.pop("image"), missing)
        label_rel = entry.pop("label", None)
        label = _resolve(root, label_rel, missing) if label_rel else None
        if label is None and not allow_unlabelled and not meta.get("unlabelled", False):
            raise ValueError(f"{root / 'dataset.json'}: case {image.name} has no label")
        case_id = str(entry.pop("case_id", case_key(image.name)))
        cases.append(Case(case_id, image, label, entry.pop("domain", None), entry))
    if missing:
        raise ValueError(
            f"{root / 'dataset.json'} lists {len(missing)} missing file(s): "
            + ", ".join(missing[:10])
        )
    cases.sort(key=lambda c: c.case_id)
    return Dataset(root, "dataset-json", tuple(cases), _label_names(meta), _rest(meta))


def _read_csv(
    path: Path, image_col: str, label_col: str, domain_col: str, id_col: str, allow_unlabelled: bool
) -> Dataset:
    with path.open(newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        columns = reader.fieldnames or []
        if image_col not in columns:
            raise ValueError(
                f"{path}: no image column {image_col!r}; columns are {columns} "
                "(choose with image_column=...)"
            )
        rows = list(reader)
    cases: list[Case] = []
    missing: list[str] = []
    for row in rows:
        image = _resolve(path.parent, row.pop(image_col), missing)
        label_rel = (row.pop(label_col, None) or "").strip()
        if not label_rel and not allow_unlabelled:
            raise ValueError(f"{path}: row for {image.name} has no {label_col!r} value")
        label = _resolve(path.parent, label_rel, missing) if label_rel else None
        domain = (row.pop(domain_col, None) or "").strip() or None
        case_id = (row.pop(id_col, None) or "").strip() or case_key(image.name)
        cases.append(Case(case_id, image, label, domain, row))
    if missing:
        raise ValueError(f"{path} lists {len(missing)} missing file(s): " + ", ".join(missing[:10]))
    cases.sort(key=lambda c: c.case_id)
    return Dataset(path, "csv", tuple(cases))


def _resolve(root: Path, rel: str, missing: list[str]) -> Path:
    p = Path(str(rel).strip())
    p = p if p.is_absolute() else (root / p)
    if not p.exists():
        missing.append(str(rel))
    return p


def _check_matched(
    root: Path, images: dict[str, Path], masks: dict[str, Path], allow_unlabelled: bool
) -> None:
    orphans = sorted(masks[k].name for k in set(masks) - set(images))
    lonely = sorted(images[k].name for k in set(images) - set(masks))
    problems = []
    if orphans:
        problems.append(f"{len(orphans)} mask(s) without an image: {', '.join(orphans[:10])}")
    if lonely and not allow_unlabelled:
        problems.append(f"{len(lonely)} image(s) without a mask: {', '.join(lonely[:10])}")
    if problems:
        raise ValueError(f"unmatched files in {root}: " + "; ".join(problems))


def _json(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:  # ValueError: bad JSON, bad UTF-8, huge integers
        raise ValueError(f"cannot read {path}: {err}") from err
    if not isinstance(data, dict):
        raise ValueError(f"{path} must hold a JSON object")
    return data


def _label_names(meta: Mapping[str, Any]) -> dict[int, str]:
    labels = meta.get("labels") or {}
    out: dict[int, str] = {}
    for key, value in labels.items():
        if str(key).lstrip("-").isdigit():  # Decathlon: {"0": "background"}
            out[int(key)] = str(value)
        elif isinstance(value, int):  # nnU-Net v2: {"background": 0}
            out[value] = str(key)
        elif isinstance(value, list) and value:  # nnU-Net v2 regions: {"whole": [1, 2]}
            continue
    return dict(sorted(out.items()))


def _rest(meta: Mapping[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in meta.items() if k not in ("training", "test", "labels")}


def split_cases(
    cases: Sequence[Case],
    fractions: Mapping[str, float] | Sequence[float] | None = None,
    *,
    n_val: int | None = None,
    seed: int = 0,
) -> dict[str, tuple[Case, ...]]:
    """Random case-level split, deterministic for a seed (no case in two splits).

    Args:
        cases: The cases (their order does not matter: they are sorted by id first).
        fractions: ``{"train": 0.8, "val": 0.2}``, or a sequence named train/val/test;
            must sum to 1 (+-1e-6).
        n_val: Instead of ``fractions``: this many validation cases, the rest train.
        seed: Seed of the permutation.

    Returns:
        Split name -> cases (sorted by id).

    Raises:
        ValueError: Both or neither of ``fractions``/``n_val``, bad values, duplicate ids.
    """
    ordered = sorted(cases, key=lambda c: c.case_id)
    ids = [c.case_id for c in ordered]
    if len(set(ids)) != len(ids):
        raise ValueError("case ids must be unique to split by case")
    if (fractions is None) == (n_val is None):
        raise ValueError("give exactly one of fractions or n_val")
    if n_val is not None:
        if not 0 <= n_val <= len(ordered):
            raise ValueError(f"n_val must lie in [0, {len(ordered)}], got {n_val}")
        counts = {"train": len(ordered) - n_val, "val": n_val}
    else:
        counts = _counts(_named(fractions), len(ordered))  # type: ignore[arg-type]
    order = np.random.default_rng(seed).permutation(len(ordered))
    out, start = {}, 0
    for name, count in counts.items():
        chosen = sorted(order[start : start + count].tolist())
        out[name] = tuple(ordered[i] for i in chosen)
        start += count
    return out


def _named(fractions: Mapping[str, float] | Sequence[float]) -> dict[str, float]:
    if isinstance(fractions, Mapping):
        named = {str(k): float(v) for k, v in fractions.items()}
    else:
        values = [float(v) for v in fractions]
        if len(values) > 3:
            raise ValueError("a sequence of fractions names at most train, val, test")
        named = dict(zip(("train", "val", "test"), values, strict=False))
    if not named or any(v < 0 for v in named.values()) or abs(sum(named.values()) - 1) > 1e-6:
        raise ValueError(f"fractions must be >= 0 and sum to 1, got {named}")
    return named


def _counts(fractions: dict[str, float], n: int) -> dict[str, int]:
    # Largest-remainder rounding: counts sum to n exactly.
    raw = {k: v * n for k, v in fractions.items()}
    counts = {k: int(np.floor(v)) for k, v in raw.items()}
    left = n - sum(counts.values())
    for k in sorted(raw, key=lambda k: counts[k] - raw[k])[:left]:
        counts[k] += 1
    return counts


def split_by_ids(
    cases: Sequence[Case], ids: Mapping[str, Sequence[str]], *, rest: str | None = None
) -> dict[str, tuple[Case, ...]]:
    """Split by explicit id lists, e.g. ``{"train": [...], "test": [...]}``.

    Args:
        cases: The cases.
        ids: Split name -> case ids.
        rest: Name of a split collecting cases listed nowhere (else they are an error).

    Raises:
        ValueError: An id listed twice or unknown, or unlisted cases without ``rest``.
    """
    by_id = {c.case_id: c for c in cases}
    seen: dict[str, str] = {}
    out: dict[str, tuple[Case, ...]] = {}
    for name, members in ids.items():
        for i in members:
            if i in seen:
                raise ValueError(f"case {i!r} is listed in both {seen[i]!r} and {name!r}")
            if i not in by_id:
                raise ValueError(f"split {name!r} lists unknown case {i!r}")
            seen[i] = name
        out[name] = tuple(sorted((by_id[i] for i in members), key=lambda c: c.case_id))
    unlisted = sorted(set(by_id) - set(seen))
    if unlisted and rest is None:
        raise ValueError(f"{len(unlisted)} case(s) in no split: {', '.join(unlisted[:10])}")
    if rest is not None:
        out[rest] = out.get(rest, ()) + tuple(by_id[i] for i in unlisted)
    return out


def split_by_parity(cases: Sequence[Case]) -> dict[str, tuple[Case, ...]]:
    """JSRT convention: split on the parity of the trailing case number (``JPCLN001`` odd).

    Returns:
        ``{"odd": ..., "even": ...}``.

    Raises:
        ValueError: A case id without a trailing number.
    """
    out: dict[str, list[Case]] = {"odd": [], "even": []}
    for c in sorted(cases, key=lambda c: c.case_id):
        match = re.search(r"(\d+)\D*$", c.case_id)
        if match is None:
            raise ValueError(f"case id {c.case_id!r} has no number to split on")
        out["odd" if int(match.group(1)) % 2 else "even"].append(c)
    return {k: tuple(v) for k, v in out.items()}


RASTER_FORMATS = ("png", "jpeg", "tiff")


def case_spacing(case: Case, image: Any) -> tuple[float, ...]:
    """The spacing (mm per axis) to use for ``case`` loaded as ``image`` (a ``vqseg_core.io.Image``).

    Raster files (PNG, JPEG, TIFF) carry no physical spacing, so the dataset's own record
    (``spacing`` in ``dataset.json`` / a CSV column) wins for them; every other format keeps its
    header's spacing.
    """
    recorded = case.extra.get("spacing") if case.extra else None
    if recorded and image.source_format in RASTER_FORMATS:
        values = tuple(float(v) for v in recorded)
        if len(values) == len(image.spacing) and all(v > 0 for v in values):
            return values
    return tuple(float(v) for v in image.spacing)
