"""Load a dataset from disk into preprocessed training and validation samples.

The dataset layout (paired folders, MSD / nnU-Net raw, CSV) is read by
:func:`vqseg_core.data.layouts.read_dataset`, images and labels by
:func:`vqseg_core.io.load_image`, and the recipe named in the config maps each case to the
model's grid and intensity frame (labels with nearest neighbour).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vqseg_core.data.layouts import (
    Case,
    case_spacing,
    read_dataset,
    split_by_ids,
    split_by_parity,
    split_cases,
)
from vqseg_core.data.preprocess import Recipe, get_recipe
from vqseg_core.data.resample import resize_labels
from vqseg_core.io import load_image
from vqseg_core.train.config import DataConfig, TrainConfig
from vqseg_core.train.data import Sample

SPLITS = ("random", "parity", "ids", "slices")
IGNORE = -1  # label value of voxels that validation does not score


def training_recipe(data: DataConfig) -> Recipe:
    """The recipe named in ``data``, with ``image_size`` as its target shape when given."""
    recipe = get_recipe(data.recipe)
    if data.image_size is not None:
        recipe = recipe.replace(target_shape=tuple(data.image_size), target_spacing=None)
    return recipe


def split_dataset(cases: Sequence[Case], data: DataConfig) -> tuple[list[Case], list[Case]]:
    """``(train, validation)`` cases as ``data.split`` says."""
    if data.split not in SPLITS:
        raise ValueError(f"data.split must be one of {SPLITS}, got {data.split!r}")
    if data.split == "slices":
        return list(cases), []
    if data.split == "parity":
        parts = split_by_parity(cases)
        return list(parts["odd"]), list(parts["even"])
    if data.split == "ids":
        parts = split_by_ids(cases, {"val": list(data.val_cases)}, rest="train")
        return list(parts["train"]), list(parts["val"])
    parts = split_cases(
        cases, {"train": 1 - data.val_fraction, "val": data.val_fraction}, seed=data.split_seed
    )
    return list(parts["train"]), list(parts["val"])


def load_case(case: Case, recipe: Recipe, label_map: dict[int, int] | None) -> Sample:
    """One case on the model grid: image ``(1, *shape)`` and int64 labels ``(*shape)``."""
    if case.label is None:
        raise ValueError(f"case {case.case_id} has no label file")
    image = load_image(case.image)
    label = load_image(case.label)
    if label.shape != image.shape:
        raise ValueError(
            f"case {case.case_id}: label shape {label.shape} differs from image shape {image.shape}"
        )
    x, ctx = recipe.apply(image.array, case_spacing(case, image))
    y = np.rint(label.array).astype(np.int64)
    if label_map:
        mapped = np.zeros_like(y)
        for src, dst in label_map.items():
            mapped[y == src] = dst
        y = mapped
    y = resize_labels(y, ctx.model_shape).astype(np.int64)
    return Sample(x[None].astype(np.float32), y, case.case_id, tuple(ctx.model_spacing))


def _slices(sample: Sample, keep: np.ndarray) -> list[Sample]:
    return [
        Sample(
            sample.image[..., z], sample.label[..., z], f"{sample.case_id}#z{z}", sample.spacing[:2]
        )
        for z in np.nonzero(keep)[0]
    ]


def _slice_mask(n: int, ranges: Sequence[str]) -> np.ndarray:
    """Held-out axial slices; ``ranges`` count slices of the MODEL grid (after resampling)."""
    mask = np.zeros(n, dtype=bool)
    for text in ranges:
        start, sep, stop = str(text).partition(":")
        if not sep:
            raise ValueError(f"data.val_slices entries look like 'start:stop', got {text!r}")
        mask[slice(int(start) if start else None, int(stop) if stop else None)] = True
    return mask


def _runs(sample: Sample, keep: np.ndarray) -> list[Sample]:
    """Sub-volumes of the contiguous runs of ``keep`` along the last axis."""
    out = []
    edges = np.flatnonzero(np.diff(np.concatenate([[0], keep.astype(np.int8), [0]])))
    for start, stop in zip(edges[::2], edges[1::2], strict=True):
        out.append(
            Sample(
                sample.image[..., start:stop],
                sample.label[..., start:stop],
                f"{sample.case_id}#z{start}-{stop}",
                sample.spacing,
            )
        )
    return out


def _cases(dataset: str) -> list[Case]:
    """The cases of a dataset folder / CSV, or of a bundled sample (``sample:NAME``)."""
    if dataset.startswith("sample:"):
        from vqseg_core.data.samples import sample_path

        image, label = sample_path(dataset.removeprefix("sample:"))
        return [Case(case_id=dataset.removeprefix("sample:"), image=image, label=label)]
    return list(read_dataset(dataset).cases)


def load_training_data(
    config: TrainConfig, progress: bool = False
) -> tuple[list[Sample], list[Sample]]:
    """Training and validation samples for ``config`` (everything held in memory)."""
    data = config.data
    if not data.dataset:
        raise ValueError("data.dataset is empty: name a dataset folder or CSV in the config")
    cases = sorted(_cases(data.dataset), key=lambda c: c.case_id)
    if data.max_cases is not None:
        cases = cases[: data.max_cases]
    train_cases, val_cases = split_dataset(cases, data)
    recipe = training_recipe(data)
    wants_slices = config.model.spatial_dims == 2 and recipe.spatial_dims == 3
    if wants_slices and not data.slices:
        raise ValueError("a 2D model on a 3D recipe needs data.slices: true")
    label_map = dict(data.label_map) if data.label_map else None

    def load(group: list[Case], desc: str) -> list[Sample]:
        iterator = group
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(group, desc=desc, unit="case")
        return [load_case(c, recipe, label_map) for c in iterator]

    train = load(train_cases, "load train")
    val = load(val_cases, "load val")
    if data.split == "slices" and not wants_slices:
        # one volume: training patches come from the contiguous runs of the training slices;
        # validation runs on the whole volume (the images of all slices are inputs at test
        # time) and scores only the held-out slices (labels elsewhere are IGNORE)
        out_train, out_val = [], []
        for s in train:
            held = _slice_mask(s.label.shape[-1], data.val_slices)
            out_train += _runs(s, ~held)
            label = np.where(held[None, None, :], s.label, IGNORE)
            out_val.append(Sample(s.image, label, f"{s.case_id}#held-out", s.spacing))
        return out_train, out_val
    if wants_slices:
        if data.split == "slices":
            out_train, out_val = [], []
            for s in train:
                held = _slice_mask(s.label.shape[-1], data.val_slices)
                out_train += _slices(s, ~held)
                out_val += _slices(s, held)
            return out_train, out_val
        return (
            [t for s in train for t in _slices(s, np.ones(s.label.shape[-1], bool))],
            [t for s in val for t in _slices(s, np.ones(s.label.shape[-1], bool))],
        )
    return train, val
