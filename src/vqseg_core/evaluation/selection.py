"""Which cases to evaluate: a dataset, a split (as in training), or explicit case ids."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from vqseg_core.data.layouts import Case, Dataset, read_dataset
from vqseg_core.data.spec import DataConfig
from vqseg_core.data.splits import split_dataset

SPLITS = ("val", "train", "all")


@dataclass(frozen=True)
class CaseSelection:
    """How to pick cases from a dataset (the split options of ``vqseg-train``).

    Attributes:
        split: ``"val"`` (the training run's validation cases), ``"train"`` or ``"all"``.
        method: ``"random"``, ``"parity"`` or ``"ids"`` (see
            :class:`~vqseg_core.data.spec.DataConfig`).
        val_fraction: validation fraction for ``method="random"``.
        split_seed: seed of the random split (training default 42).
        val_cases: validation ids for ``method="ids"``.
        cases: explicit case ids; when given they replace ``split``.
        max_cases: keep the first N cases (by id) of the selected split (applied after the
            split, so the cases always come from the chosen split; note that
            ``vqseg-train``'s ``max_cases`` truncates *before* splitting instead).
    """

    split: str = "val"
    method: str = "random"
    val_fraction: float = 0.2
    split_seed: int = 42
    val_cases: tuple[str, ...] = ()
    cases: tuple[str, ...] = field(default_factory=tuple)
    max_cases: int | None = None


def exported_selection(
    data: Mapping[str, object],
    split: str = "val",
    method: str | None = None,
    val_fraction: float | None = None,
    split_seed: int | None = None,
    val_cases: Sequence[str] = (),
    cases: Sequence[str] = (),
    max_cases: int | None = None,
) -> CaseSelection:
    """The selection a trained model's export describes (its ``data`` config: ``split``,
    ``val_fraction``, ``split_seed``, ``val_cases``), each field overridden when given.

    Defaults where the export says nothing are training's: a random split, 20 %, seed 42. A
    ``"slices"`` split has no case split (its held-out part is slabs of each volume:
    :func:`vqseg_core.evaluation.slabs.slab_cases`): it selects as ``"random"``; callers pick
    ``split="all"`` and the slabs.
    """
    method = method or str(data.get("split") or "random")
    if val_fraction is None:
        val_fraction = float(data.get("val_fraction", 0.2))  # type: ignore[arg-type]
    if split_seed is None:
        split_seed = int(data.get("split_seed", 42))  # type: ignore[call-overload]
    exported_ids = data.get("val_cases") or ()
    return CaseSelection(
        split=split,
        method="random" if method == "slices" else method,
        val_fraction=val_fraction,
        split_seed=split_seed,
        val_cases=tuple(val_cases) or tuple(str(i) for i in exported_ids),  # type: ignore[union-attr]
        cases=tuple(cases),
        max_cases=max_cases,
    )


def select_cases(dataset: str | Path | Dataset, selection: CaseSelection) -> list[Case]:
    """The cases of ``dataset`` chosen by ``selection``, sorted by id.

    Raises:
        ValueError: unreadable dataset, unknown split or ids, or no case selected.
    """
    ds = dataset if isinstance(dataset, Dataset) else read_any_dataset(dataset)
    cases = sorted(ds.cases, key=lambda c: c.case_id)
    if selection.cases:
        by_id = {c.case_id: c for c in cases}
        unknown = [i for i in selection.cases if i not in by_id]
        if unknown:
            raise ValueError(f"unknown case id(s) in {ds.root}: {', '.join(unknown[:10])}")
        return [by_id[i] for i in sorted(set(selection.cases))]
    if ds.layout == "sample":  # one bundled image: there is nothing to split
        return cases
    if selection.split not in SPLITS:
        raise ValueError(f"split must be one of {SPLITS}, got {selection.split!r}")
    if selection.max_cases is not None and selection.max_cases < 1:
        raise ValueError(f"max_cases must be >= 1, got {selection.max_cases}")
    if selection.split != "all":
        config = DataConfig(
            split=selection.method,
            val_fraction=selection.val_fraction,
            val_cases=tuple(selection.val_cases),
            split_seed=selection.split_seed,
        )
        train, val = split_dataset(cases, config)
        cases = val if selection.split == "val" else train
    cases = sorted(cases, key=lambda c: c.case_id)
    if selection.max_cases is not None:
        cases = cases[: selection.max_cases]
    if not cases:
        raise ValueError(f"no cases selected from {ds.root} (split {selection.split!r})")
    return cases


def read_any_dataset(dataset: str | Path) -> Dataset:
    """A dataset folder or CSV, or a bundled sample as a one-case dataset (``sample:NAME``,
    as training accepts it)."""
    from vqseg_core.data.cases import SAMPLE_PREFIX, dataset_cases

    text = str(dataset)
    if text.startswith(SAMPLE_PREFIX):
        try:
            cases = dataset_cases(text)
        except (KeyError, ValueError, FileNotFoundError) as exc:
            raise ValueError(f"{text}: {exc}") from None
        return Dataset(Path(text), "sample", tuple(cases))
    return read_dataset(dataset)


def dataset_name(path: str | Path) -> str:
    """A short name for a dataset: the folder name (or CSV stem; a sample's name)."""
    if str(path).startswith("sample:"):
        return str(path).removeprefix("sample:")
    p = Path(path)
    return p.stem if p.is_file() else p.resolve().name


def case_ids(cases: Sequence[Case]) -> list[str]:
    """The ids of ``cases``."""
    return [c.case_id for c in cases]
