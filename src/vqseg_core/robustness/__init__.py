"""How robust is each model of a set? The live view and the level sweep, on the run engine.

>>> from vqseg_core.robustness import analyse, level_sweep
>>> view = analyse(models, image.array, image.spacing, kind="gaussian", level=10, n_draws=8)  # doctest: +SKIP
>>> view.models["vqunet"].flip_rate                                                           # doctest: +SKIP
>>> rows = level_sweep(models, image.array, image.spacing, "gaussian", [0, 10, 20, 30])       # doctest: +SKIP

Both are loops over :mod:`vqseg_core.engine` (one request -> one run -> one score).
Conventions (``PAPER.md``, "Definitions this project adopts"):

* corruptions act in the [0, 1] frame: the recipe's model frame when it already lies in [0, 1]
  (chest, CT, brain), otherwise the model frame mapped by its 0.5..99.5 percentiles (MRI
  z-score recipes) and mapped back after corrupting (:mod:`~vqseg_core.engine.frame`);
* draw ``d`` uses seed ``seed + d``: the same inputs reach every model and every level;
* latent variance: per latent element, the population variance across draws of the raw
  features (and of the quantised latents for quantised latents), averaged over channels;
* code-flip map: per latent position, the fraction of draws whose code differs from the clean
  image's code;
* 3D inputs larger than a model's patch size: labels by sliding window, slab by slab with the
  ``focus`` slice first, no latent maps (``view.latent_note`` says so);
* volumes under a 2D slice model: labels slice by slice, focus first; latent maps of the
  ``focus`` slice only, placed at that slice (``view.latent_slice``).
"""

from vqseg_core.engine import (
    Cancelled,
    DrawOutputs,
    PartialLabels,
    PreparedInput,
    make_draws,
    prepare,
    run_draws,
)
from vqseg_core.robustness.sweep import PAPER_LEVELS, default_levels, level_sweep
from vqseg_core.robustness.view import (
    LatentView,
    ModelView,
    RobustnessView,
    analyse,
    iter_analyse,
    iter_view,
    masks_view,
    score_labels,
    view_of,
    with_latents,
)

__all__ = [
    "PAPER_LEVELS",
    "Cancelled",
    "DrawOutputs",
    "LatentView",
    "ModelView",
    "PartialLabels",
    "PreparedInput",
    "RobustnessView",
    "analyse",
    "default_levels",
    "iter_analyse",
    "iter_view",
    "level_sweep",
    "make_draws",
    "masks_view",
    "prepare",
    "run_draws",
    "score_labels",
    "view_of",
    "with_latents",
]
