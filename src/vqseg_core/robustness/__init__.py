"""How robust is each network of a pair? The Qt-free engine of the live view and of ``vqseg-eval``.

>>> from vqseg_core.robustness import analyse, level_sweep
>>> view = analyse(pair, image.array, image.spacing, kind="gaussian", level=10, n_draws=8)  # doctest: +SKIP
>>> view.models["vqunet"].flip_rate                                                         # doctest: +SKIP
>>> rows = level_sweep(pair, image.array, image.spacing, "gaussian", [0, 10, 20, 30])       # doctest: +SKIP

Conventions (``PAPER.md``, "Definitions this project adopts"):

* corruptions act in the [0, 1] frame: the recipe's model frame when it already lies in [0, 1]
  (chest, CT, brain), otherwise the model frame mapped by its 0.5..99.5 percentiles (MRI
  z-score recipes) and mapped back after corrupting (:mod:`~vqseg_core.robustness.frame`);
* draw ``d`` uses seed ``seed + d``: the same inputs reach both networks and every level;
* latent variance: per latent element, the population variance across draws of the raw
  bottleneck features (and of the quantised latents for the VQ network), averaged over channels;
* code-flip map: per latent position, the fraction of draws whose code differs from the clean
  image's code;
* 3D inputs larger than the pair's patch size: labels by sliding window, slab by slab with the
  ``focus`` slice first, no latent maps (``view.latent_note`` says so);
* volumes under a 2D slice model: labels slice by slice, focus first; latent maps of the
  ``focus`` slice only, placed at that slice (``view.latent_slice``).
"""

from vqseg_core.robustness.frame import PreparedInput, make_draws, prepare
from vqseg_core.robustness.runner import Cancelled, DrawOutputs, run_draws
from vqseg_core.robustness.sweep import PAPER_LEVELS, default_levels, level_sweep
from vqseg_core.robustness.view import (
    ModelView,
    PartialLabels,
    RobustnessView,
    analyse,
    iter_analyse,
    score_labels,
)

__all__ = [
    "PAPER_LEVELS",
    "Cancelled",
    "DrawOutputs",
    "ModelView",
    "PartialLabels",
    "PreparedInput",
    "RobustnessView",
    "analyse",
    "default_levels",
    "iter_analyse",
    "level_sweep",
    "make_draws",
    "prepare",
    "run_draws",
    "score_labels",
]
