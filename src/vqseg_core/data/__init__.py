"""Data: the data spec of a model, recipes, dataset layouts, sources and bundled samples.

Submodules import their heavy dependencies lazily; importing this package is cheap.

* :mod:`~vqseg_core.data.spec` — :class:`DataConfig` (the ``data`` section of a training
  config) and :func:`recipe_for` (the recipe a model was trained with).
* :mod:`~vqseg_core.data.splits` — :func:`split_dataset`: the train / validation cases.
* :mod:`~vqseg_core.data.cases` — :func:`load_case` (raw, input grid, for evaluation) and
  :func:`~vqseg_core.data.cases.model_sample` (model grid, for training) over one reader.
* :mod:`~vqseg_core.data.preprocess` — :class:`Recipe`, :data:`RECIPES` (ct, prostate_mri,
  chest_xray, brain_mri): ``apply(array, spacing)`` / ``invert_labels(labels, context)``.
* :mod:`~vqseg_core.data.layouts` — :class:`Case`, :func:`read_dataset`, case-level splits.
* :mod:`~vqseg_core.data.sources` — what ``vqseg-data prepare`` builds.
* :mod:`~vqseg_core.data.samples` — the small real samples bundled in the package.
"""

from vqseg_core.data.cases import LoadedCase, load_case, read_case
from vqseg_core.data.layouts import (
    Case,
    Dataset,
    read_dataset,
    split_by_ids,
    split_by_parity,
    split_cases,
)
from vqseg_core.data.preprocess import RECIPES, PreprocessContext, Recipe, get_recipe
from vqseg_core.data.spec import DataConfig, recipe_for
from vqseg_core.data.splits import split_dataset

__all__ = [
    "RECIPES",
    "Case",
    "DataConfig",
    "Dataset",
    "LoadedCase",
    "PreprocessContext",
    "Recipe",
    "get_recipe",
    "load_case",
    "read_case",
    "read_dataset",
    "recipe_for",
    "split_by_ids",
    "split_by_parity",
    "split_cases",
    "split_dataset",
]
