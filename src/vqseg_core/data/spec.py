"""The data spec of a model: which dataset, which recipe, which split, which augmentations.

:class:`DataConfig` is the ``data`` section of a training config (``vqseg-train``), stored in
every checkpoint and export, and read back by :mod:`vqseg_core.pretrained` and the evaluation
commands: the one description of how a model sees its data. :func:`recipe_for` turns it into the
:class:`~vqseg_core.data.preprocess.Recipe` the model was trained with.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

from vqseg_core.data.preprocess import Recipe, get_recipe

T = TypeVar("T")


@dataclass(frozen=True)
class DataConfig:
    """Where the data comes from and how it becomes batches.

    Attributes:
        dataset: a dataset folder (paired folders, MSD/nnU-Net raw) or a CSV; relative paths
            are resolved against the config file's folder.
        recipe: preprocessing recipe name (see :mod:`vqseg_core.data.preprocess`).
        image_size: model input size for 2D images (H, W); ``None`` keeps the recipe's size.
        patch_size: random crop size for training (3D patches, or 2D crops); ``None`` = whole image.
        slices: for ``spatial_dims=2`` on volumes, train on axial slices (last axis).
        labels: label value -> name (background 0 is implied).
        label_map: optional remapping of dataset label values before training (e.g. merge
            classes, or a 0/255 mask: ``{255: 1}``), as ``{source_value: target_value}``;
            values it does not list become 0, targets must be 0 or classes. Without it every
            label value must be 0, a class of ``labels`` or an output of the model, else
            training stops naming the file and the values (:mod:`vqseg_core.data.labels`).
            On the command line: ``--set 'data.label_map={255: 1}'``.
        split: ``"random"`` (``val_fraction`` of the cases, from ``split_seed``), ``"parity"``
            (the JSRT convention: odd case numbers train, even validate), ``"ids"``
            (``val_cases`` validate), or ``"slices"`` (one volume: the axial slice ranges in
            ``val_slices`` validate, the others train; needs ``slices=True``).
        val_fraction: fraction of cases held out for validation with ``split="random"``.
        val_cases: validation case ids for ``split="ids"``.
        val_slices: ``"start:stop"`` axial slice ranges for ``split="slices"``, counted on the
            model grid (after the recipe's resampling). 2D models train on single slices;
            3D models on the contiguous runs of training slices (validation on the held runs).
        split_seed: seed of the case-level split.
        augment: augmentation names applied on the fly (disclosed in the outputs):
            ``flip`` (left-right), ``intensity`` (random gamma and contrast), ``noise``
            (Gaussian, sd 0.05, as the authors' prostate training), ``bias_field``.
        foreground_fraction: share of 3D patches centred on a foreground voxel.
        max_cases: use at most this many cases (quick runs); ``None`` = all.
    """

    dataset: str = ""
    recipe: str = "chest_xray"
    image_size: tuple[int, ...] | None = None
    patch_size: tuple[int, ...] | None = None
    slices: bool = False
    labels: dict[int, str] = field(default_factory=lambda: {1: "foreground"})
    label_map: dict[int, int] | None = None
    split: str = "random"
    val_fraction: float = 0.2
    val_cases: tuple[str, ...] = ()
    val_slices: tuple[str, ...] = ()
    split_seed: int = 42
    augment: tuple[str, ...] = ()
    foreground_fraction: float = 0.5
    max_cases: int | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> DataConfig:
        """The ``data`` section of a config as plain values (YAML / JSON: lists, string keys).

        ``None`` gives the defaults. Lists become tuples, label keys become ints.

        Raises:
            ValueError: unknown keys (named in the message).
        """
        return section_from_dict(cls, data, "data")


def section_from_dict(cls: type[T], data: Mapping[str, Any] | None, section: str) -> T:
    """A config section dataclass ``cls`` from plain values; unknown keys raise ``ValueError``.

    Values are coerced to the field types a YAML or JSON round trip loses: lists to tuples,
    numbers to floats, ``labels`` / ``label_map`` keys (and values) to ints.
    """
    values = dict(data or {})
    known = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    unknown = sorted(set(values) - known)
    if unknown:
        raise ValueError(f"unknown keys in config section {section!r}: {unknown}")
    return cls(**{k: _coerce(cls, k, v) for k, v in values.items()})


def _coerce(cls: type, name: str, value: Any) -> Any:
    hint = {f.name: f.type for f in fields(cls)}[name]
    if value is None:
        return None
    text = str(hint)
    if "tuple" in text:
        return tuple(value) if isinstance(value, list | tuple) else (value,)
    if name in ("labels", "label_map"):
        cast = str if name == "labels" else int
        example = "{1: lungs, 2: heart}" if name == "labels" else "{255: 1}"
        try:
            return {int(k): cast(v) for k, v in dict(value).items()}
        except (TypeError, ValueError):
            raise ValueError(
                f"data.{name} must map label values to {'names' if name == 'labels' else 'label values'}, "
                f"e.g. {example}; got {value!r}"
            ) from None
    if text.startswith("float") and isinstance(value, int | float | str):
        return float(value)
    return value


def recipe_for(data: DataConfig) -> Recipe:
    """The recipe named in ``data``, with ``image_size`` as its target shape when given."""
    recipe = get_recipe(data.recipe)
    if data.image_size is not None:
        recipe = recipe.replace(target_shape=tuple(data.image_size), target_spacing=None)
    return recipe
