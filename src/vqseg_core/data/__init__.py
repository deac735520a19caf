"""Data: preprocessing recipes, dataset layouts, dataset sources and bundled samples.

Submodules import their heavy dependencies lazily; importing this package is cheap.

* :mod:`~vqseg_core.data.preprocess` — :class:`Recipe`, :data:`RECIPES` (ct, prostate_mri,
  chest_xray, brain_mri): ``apply(array, spacing)`` / ``invert_labels(labels, context)``.
* :mod:`~vqseg_core.data.layouts` — :class:`Case`, :func:`read_dataset`, case-level splits.
* :mod:`~vqseg_core.data.sources` — what ``vqseg-data prepare`` builds.
* :mod:`~vqseg_core.data.samples` — the small samples bundled with the plugin.
"""

from vqseg_core.data.layouts import (
    Case,
    Dataset,
    read_dataset,
    split_by_ids,
    split_by_parity,
    split_cases,
)
from vqseg_core.data.preprocess import RECIPES, PreprocessContext, Recipe, get_recipe

__all__ = [
    "RECIPES",
    "Case",
    "Dataset",
    "PreprocessContext",
    "Recipe",
    "get_recipe",
    "read_dataset",
    "split_by_ids",
    "split_by_parity",
    "split_cases",
]
