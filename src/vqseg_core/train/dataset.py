"""Load a dataset from disk into preprocessed training and validation samples.

The data spec lives in :mod:`vqseg_core.data`: the cases of the dataset
(:func:`~vqseg_core.data.cases.dataset_cases`), its split
(:func:`~vqseg_core.data.splits.split_dataset`), the recipe
(:func:`~vqseg_core.data.spec.recipe_for`) and each case read once and mapped to the model's
grid (:func:`~vqseg_core.data.cases.read_case`, :func:`~vqseg_core.data.cases.model_sample`).
This module adds what only training does: slice and run samples for ``split: slices`` and 2D
models on volumes. ``SPLITS``, ``split_dataset`` and ``training_recipe`` (= ``recipe_for``)
are re-exported here for existing imports.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from vqseg_core.data.cases import Sample, dataset_cases, model_sample, read_case
from vqseg_core.data.labels import check_classes_fit
from vqseg_core.data.layouts import Case
from vqseg_core.data.spec import recipe_for
from vqseg_core.data.splits import SPLITS, split_dataset
from vqseg_core.train.config import TrainConfig

training_recipe = recipe_for  # the old name

__all__ = [
    "IGNORE",
    "SPLITS",
    "load_training_data",
    "recipe_for",
    "split_dataset",
    "training_recipe",
]

IGNORE = -1  # label value of voxels that validation does not score


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


def load_training_data(
    config: TrainConfig, progress: bool = False
) -> tuple[list[Sample], list[Sample]]:
    """Training and validation samples for ``config`` (everything held in memory)."""
    data = config.data
    if not data.dataset:
        raise ValueError("data.dataset is empty: name a dataset folder or CSV in the config")
    cases = sorted(dataset_cases(data.dataset), key=lambda c: c.case_id)
    if data.max_cases is not None:
        cases = cases[: data.max_cases]
    train_cases, val_cases = split_dataset(cases, data)
    recipe = recipe_for(data)
    wants_slices = config.model.spatial_dims == 2 and recipe.spatial_dims == 3
    if wants_slices and not data.slices:
        raise ValueError("a 2D model on a 3D recipe needs data.slices: true")
    label_map = dict(data.label_map) if data.label_map else None
    # hostile input: classes must be outputs of the model, labels classes (file named)
    check_classes_fit(data.labels, config.model.out_channels)
    outputs = range(1, config.model.out_channels)  # an output the model has is learnable
    classes = {**{v: f"output {v}" for v in outputs}, **dict(data.labels)}

    def load(group: list[Case], desc: str) -> list[Sample]:
        iterator = group
        if progress:
            from tqdm.auto import tqdm

            iterator = tqdm(group, desc=desc, unit="case")
        return [model_sample(read_case(c), recipe, label_map, classes) for c in iterator]

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
