"""The run engine: one request -> one run -> one score, for every path that runs models.

>>> from vqseg_core.engine import RunRequest, execute, score
>>> from vqseg_core.perturb import Corruption
>>> run = execute(RunRequest(models, image.array, image.spacing,
...                          Corruption("gaussian", 10, seed=0), n_draws=4))   # doctest: +SKIP
>>> run.models["vqunet"].labels[0]                                            # doctest: +SKIP
>>> score(run, ground_truth)["unet"][0][1].dice                               # doctest: +SKIP

Floors (``docs/architecture.md``): the engine sits on the model set, inference, data and
perturb; the explorer's live view and sweep (:mod:`vqseg_core.robustness`) and ``vqseg-eval``
(:mod:`vqseg_core.evaluation`) are loops over it.
"""

from vqseg_core.engine.draws import (
    BOTTLENECK,
    Cancelled,
    CleanEncoding,
    DrawOutputs,
    LatentDraws,
    check_cancel,
    encode_clean,
    has_latents,
    has_quantizer,
    run_draws,
)
from vqseg_core.engine.frame import PreparedInput, make_draws, prepare, to_unit_frame
from vqseg_core.engine.geometry import latent_geometry
from vqseg_core.engine.memo import ImageMemo, image_id
from vqseg_core.engine.request import RunRequest, request_for
from vqseg_core.engine.run import (
    MasksReady,
    ModelRun,
    PartialLabels,
    Run,
    execute,
    input_range,
    iter_execute,
    latents_of,
    model_slice,
)
from vqseg_core.engine.score import (
    ClassScore,
    annotated_classes,
    check_ground_truth,
    named,
    score,
    score_labels,
)

__all__ = [
    "BOTTLENECK",
    "Cancelled",
    "ClassScore",
    "CleanEncoding",
    "DrawOutputs",
    "ImageMemo",
    "LatentDraws",
    "MasksReady",
    "ModelRun",
    "PartialLabels",
    "PreparedInput",
    "Run",
    "RunRequest",
    "annotated_classes",
    "check_cancel",
    "check_ground_truth",
    "encode_clean",
    "execute",
    "has_latents",
    "has_quantizer",
    "image_id",
    "input_range",
    "iter_execute",
    "latent_geometry",
    "latents_of",
    "make_draws",
    "model_slice",
    "named",
    "prepare",
    "request_for",
    "run_draws",
    "score",
    "score_labels",
    "to_unit_frame",
]
