"""A case in memory: read once, raw on the input grid, and on the model grid for training.

One reader (:func:`read_case`) serves both sides of a model:

* evaluation scores predictions on the input grid: :func:`load_case` gives the raw
  :class:`LoadedCase` (the last one cached; a case carrying ``extra["slab"]`` is cropped);
* training learns on the model grid: :func:`model_sample` maps a :class:`LoadedCase` through the
  recipe (labels with nearest neighbour) into a :class:`Sample`.

:func:`dataset_cases` lists the cases of a dataset folder, a CSV or a bundled sample.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass

import numpy as np

from vqseg_core.data.labels import apply_label_map, check_label_map, check_labels, integer_labels
from vqseg_core.data.layouts import Case, case_spacing, read_dataset
from vqseg_core.data.preprocess import Recipe
from vqseg_core.data.resample import resize_labels
from vqseg_core.io import load_image

SAMPLE_PREFIX = "sample:"


@dataclass(frozen=True)
class LoadedCase:
    """A case in memory: raw image, spacing (mm) and integer ground truth on the same grid.

    ``label_file`` is the file the labels came from (``None`` when built in memory): label
    checks name it.
    """

    case_id: str
    array: np.ndarray
    spacing: tuple[float, ...]
    labels: np.ndarray
    label_file: str | None = None

    @property
    def label_source(self) -> str:
        """What label messages name: the label file, else the case."""
        return self.label_file or f"case {self.case_id}"


@dataclass(frozen=True)
class Sample:
    """One preprocessed case in the model's frame.

    Attributes:
        image: ``(C, *spatial)`` float32.
        label: ``(*spatial)`` int64 label map (0 = background).
        case_id: the case's id in its dataset.
        spacing: voxel size in mm of ``image`` (after preprocessing).
    """

    image: np.ndarray
    label: np.ndarray
    case_id: str
    spacing: tuple[float, ...]


def read_case(case: Case) -> LoadedCase:
    """Read a case's image and labels from disk (no cache, no slab crop).

    Labels are int64 on the image's grid (float files are rounded; values that are not
    integers are refused: :func:`~vqseg_core.data.labels.integer_labels`); the spacing is
    :func:`~vqseg_core.data.layouts.case_spacing` (the dataset's record wins for rasters).

    Raises:
        ValueError: the case has no label, or its shapes differ.
        LabelError: (a ``ValueError``) label values that are not integers, naming the file.
        ImageLoadError: an unreadable file.
    """
    if case.label is None:
        raise ValueError(f"case {case.case_id} has no label file")
    image = load_image(case.image)
    label = load_image(case.label)
    if label.shape != image.shape:
        raise ValueError(
            f"case {case.case_id}: label shape {label.shape} differs from image shape {image.shape}"
        )
    labels = integer_labels(label.array, str(case.label))
    spacing = case_spacing(case, image)
    return LoadedCase(case.case_id, image.array, spacing, labels, str(case.label))


_CACHE: dict[tuple[str, str], LoadedCase] = {}


def load_case(case: Case) -> LoadedCase:
    """Load a case's image and labels (the last one is cached: cells come case by case).

    A case with ``extra["slab"] = (start, stop)`` is cropped to those axial slices.

    Raises:
        ValueError: the case has no label, or its shapes differ.
        ImageLoadError: an unreadable file.
    """
    key = (str(case.image), str(case.label))
    if key not in _CACHE:
        _CACHE.clear()
        _CACHE[key] = read_case(case)
    loaded = _CACHE[key]
    slab = case.extra.get("slab")  # a held-out axial slab (see evaluation.slabs)
    if slab is None:
        return loaded
    start, stop = slab
    return LoadedCase(
        case.case_id, loaded.array[..., start:stop], loaded.spacing,
        loaded.labels[..., start:stop], loaded.label_file,
    )  # fmt: skip


def model_sample(
    loaded: LoadedCase,
    recipe: Recipe,
    label_map: dict[int, int] | None = None,
    classes: Mapping[int, str] | Collection[int] | None = None,
) -> Sample:
    """A loaded case on the model grid: image ``(1, *shape)`` and int64 labels ``(*shape)``.

    Args:
        loaded: the case on its input grid (:func:`read_case`).
        recipe: the model's preprocessing (:func:`~vqseg_core.data.spec.recipe_for`).
        label_map: dataset label value -> training label value (others become 0).
        classes: the model's classes; when given, labels (after ``label_map``) must be 0 or
            one of them, else :class:`~vqseg_core.data.labels.LabelError` names the file and
            the values, before the image is resampled.
    """
    y = loaded.labels
    if label_map:
        if classes is not None:
            check_label_map(label_map, classes)
        y = apply_label_map(y, label_map)
    elif classes is not None:
        check_labels(y, classes, loaded.label_source)
    x, ctx = recipe.apply(loaded.array, loaded.spacing)
    y = resize_labels(y, ctx.model_shape).astype(np.int64)
    return Sample(x[None].astype(np.float32), y, loaded.case_id, tuple(ctx.model_spacing))


def dataset_cases(dataset: str) -> list[Case]:
    """The cases of a dataset folder / CSV, or of a bundled sample (``sample:NAME``)."""
    if dataset.startswith(SAMPLE_PREFIX):
        from vqseg_core.data.samples import sample_path

        name = dataset.removeprefix(SAMPLE_PREFIX)
        image, label = sample_path(name)
        return [Case(case_id=name, image=image, label=label)]
    return list(read_dataset(dataset).cases)
