"""What the explorer's worker threads run (no Qt): an analysis, a level sweep, loading models.

The session (:mod:`napari_vqseg.explorer.session`) builds every argument, the request
included; each function returns ``("ok", value)``, ``("cancelled", None)`` or
``("error", exc)`` so that a worker never raises into napari's thread machinery.
"""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable, Generator, Sequence
from typing import Any

import numpy as np

Outcome = tuple[str, Any]


def guarded(fn: Callable[..., Any]) -> Callable[..., Outcome]:
    """Run ``fn`` in a worker: ``("ok", value)``, ``("cancelled", None)`` or ``("error", exc)``."""

    @functools.wraps(fn)
    def run(*args: Any, **kwargs: Any) -> Outcome:
        from vqseg_core.engine import Cancelled

        try:
            return "ok", fn(*args, **kwargs)
        except Cancelled:
            return "cancelled", None
        except Exception as err:  # reported in the GUI, never a crash
            return "error", err

    return run


def analyse(
    request: Any,
    gt: np.ndarray | None,
    reference: str | None,
    cancel: Callable[[], bool],
    memo: Any = None,
    progressive: bool = False,
) -> Generator[Any, None, Outcome]:
    """Run a :class:`~vqseg_core.engine.RunRequest`: yields each model's partial volume mask
    (:class:`~vqseg_core.engine.PartialLabels`) and, with ``progressive``, the view of masks and
    metrics before the latents run (``latent_state="pending"``); returns the full view like
    :func:`guarded` (:func:`vqseg_core.robustness.iter_view`; ``memo``: the image's
    corruption-independent work, :class:`~vqseg_core.engine.ImageMemo`). Without a ground
    truth each model's labels of the clean image are added
    (:func:`~vqseg_core.robustness.view.with_clean_labels`, kept in ``memo``): on a 2D image
    before the masks view is shown, on a volume (a whole second pass) after the latents.
    Typicality scores come last. Torch threads follow
    :func:`vqseg_core.threads.inference_threads`."""
    from vqseg_core.engine import Cancelled
    from vqseg_core.robustness.view import RobustnessView, iter_view_and_run, with_clean_labels
    from vqseg_core.threads import inference_threads

    def answered(view: Any) -> Any:
        return view if gt is not None else with_clean_labels(view, request, memo, cancel)

    try:
        with inference_threads():  # the thread policy of a shared machine, in this thread
            steps = iter_view_and_run(request, gt, reference, cancel, memo, progressive)
            early = None
            while True:
                try:
                    step = next(steps)
                except StopIteration as stop:
                    view, run = stop.value
                    break
                if isinstance(step, RobustnessView) and gt is None and request.image.ndim == 2:
                    step = early = answered(step)
                yield step
            if early is not None:  # the same labels: the clean ones found already
                clean = {k: mv.clean_labels for k, mv in early.models.items()}
                view = dataclasses.replace(view, models={
                    k: dataclasses.replace(mv, clean_labels=clean.get(k))
                    for k, mv in view.models.items()})  # fmt: skip
            else:
                view = answered(view)
            return "ok", with_typicality(view, request, run)
    except Cancelled:
        return "cancelled", None
    except Exception as err:  # reported in the GUI, never a crash
        return "error", err


def with_typicality(view: Any, request: Any, run: Any = None) -> Any:
    """``view`` with each model's typicality score of draw 0 (models with a reference only).

    The score summarises draw 0's bottleneck features: on a 2D image whose run computed the
    latents they are taken from ``run`` (draw 0 of the float32 encoding the latent maps came
    from), else the encoder runs on draw 0 alone (``member_summary``, under inference mode).
    """
    import torch

    from vqseg_core.analysis.ood import image_summary
    from vqseg_core.evaluation.ood import member_summary

    scores = {}
    for key in request.member_keys:
        member = request.models.member(key)
        ref = member.info.get("ood")
        if ref is None:
            continue
        latents = {} if run is None or request.image.ndim != 2 else run.models[key].latents
        neck = latents.get("bottleneck")
        if neck is not None:
            summary = image_summary(neck.features[:1])
        else:
            with torch.inference_mode():
                summary = member_summary(member, request.image, request.spacing, request.corruption)
        score = ref.score(summary)
        scores[key] = {"score": score, "percentile": ref.percentile(score),
                       "reading": ref.reading(score)}  # fmt: skip
    return dataclasses.replace(view, typicality=scores) if scores else view


@guarded
def sweep(
    models: Any,
    request: Any,
    gt: np.ndarray | None,
    levels: Sequence[float],
    reference: str | None,
    cancel: Callable[[], bool],
    progress: Callable[[int, int], None] | None,
) -> list[dict[str, Any]]:
    """:func:`vqseg_core.robustness.level_sweep` of ``request``'s image, kind, seed and draws."""
    from vqseg_core.robustness import level_sweep

    c = request.corruption
    return level_sweep(models, request.image, request.spacing, c.kind, levels, c.seed,
                       request.n_draws, gt, cancel, progress, device=request.device,
                       precision=request.precision, reference=reference)  # fmt: skip


@guarded
def load_models(name: str | None, files: Sequence[str]) -> Any:
    """A bundled set, a set of export files, or a bundled set with exports added after it."""
    from napari_vqseg.explorer.sets import compose_set

    return compose_set(name, files)
