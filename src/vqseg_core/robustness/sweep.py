"""A level sweep: per-level metrics of both networks on one image (the plugin's plot dock)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from vqseg_core.perturb import PAPER_KINDS, Corruption, get_spec
from vqseg_core.robustness.frame import make_draws, prepare
from vqseg_core.robustness.runner import CancelFn, check_cancel, run_draws
from vqseg_core.robustness.view import MODEL_KEYS, _check_ground_truth, build_view

PAPER_LEVELS = (0.0, 1.0, 10.0, 20.0, 30.0)
"""Noise levels (%) of the poster's Table 3."""

ProgressFn = Callable[[int, int], None]


def default_levels(kind: str, n: int = 6) -> tuple[float, ...]:
    """The poster's levels for its three noise kinds, else ``n`` levels spanning the kind's range."""
    if kind in PAPER_KINDS:
        return PAPER_LEVELS
    spec = get_spec(kind)
    return tuple(float(v) for v in np.linspace(spec.minimum, spec.maximum, n))


def level_sweep(
    pair,
    array: np.ndarray,
    spacing: Sequence[float] | None = None,
    kind: str = "gaussian",
    levels: Sequence[float] | None = None,
    seed: int = 0,
    n_draws: int = 1,
    ground_truth: np.ndarray | None = None,
    cancel: CancelFn | None = None,
    progress: ProgressFn | None = None,
    *,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int = 8,
) -> list[dict[str, Any]]:
    """Metrics of both networks at each corruption level, with common random numbers.

    The image is preprocessed once; level ``l`` uses draws with seeds ``seed .. seed +
    n_draws - 1`` (the same noise pattern at every level, scaled).

    Args:
        pair: a :class:`~vqseg_core.pretrained.ModelPair`.
        array, spacing: the raw image and its spacing in mm (see :func:`analyse`).
        kind: corruption kind.
        levels: levels to visit (default :func:`default_levels`).
        seed: seed of draw 0.
        n_draws: draws per level (latent variance needs >= 2).
        ground_truth: labels on the input grid, to add Dice and HD95 (mm) per class.
        cancel: returns True to abort (raises :class:`Cancelled` between batches).
        progress: called as ``progress(done, total)`` after each level.
        device, precision, batch_size: see :func:`analyse`.

    Returns:
        One dict per (level, model), in level order, ``unet`` first. Keys: ``kind``,
        ``level``, ``model``, ``seed``, ``n_draws``; ``changed_fraction`` (share of input-grid
        pixels whose label differs from the clean prediction), ``disagreement_fraction``
        (share where the two networks differ), ``latent_variance`` (mean; ``nan`` when
        ``n_draws < 2`` or unavailable), ``quantized_variance`` and ``flip_rate`` (VQ only,
        else ``nan``); with a ground truth ``dice_<class>``, ``hd95_<class>`` (mm) and
        ``dice_mean`` (mean over classes, ``nan`` ignored).
    """
    levels = tuple(default_levels(kind) if levels is None else levels)
    corruptions = [Corruption(kind, float(level), seed) for level in levels]
    if n_draws < 1:
        raise ValueError(f"n_draws must be >= 1, got {n_draws}")
    array = np.asarray(array)
    gt = _check_ground_truth(ground_truth, array.shape)
    spacing_mm = tuple(spacing) if spacing is not None else (1.0,) * array.ndim
    prepared = prepare(pair, array, spacing)
    predictors = {k: pair.predictor(k, device, precision) for k in MODEL_KEYS}
    clean_labels = {}
    for key, predictor in predictors.items():
        check_cancel(cancel)
        out = run_draws(predictor, prepared.x[None], cancel=cancel)
        clean_labels[key] = pair.recipe.invert_labels(out.labels[0], prepared.context)
    rows: list[dict[str, Any]] = []
    for i, corruption in enumerate(corruptions):
        draws = make_draws(prepared, corruption, n_draws)
        outputs = {}
        for key, predictor in predictors.items():
            clean = None
            if not corruption.is_identity and hasattr(predictor.model, "quantizer"):
                clean = prepared.x
            outputs[key] = run_draws(predictor, draws, clean, batch_size=batch_size, cancel=cancel)
        view = build_view(pair, prepared, draws, outputs, corruption, gt, spacing_mm)
        disagreement = float(view.disagreement.mean())
        for key in MODEL_KEYS:
            mv = view.models[key]
            row: dict[str, Any] = {
                "kind": kind,
                "level": corruption.level,
                "model": key,
                "seed": seed,
                "n_draws": n_draws,
                "changed_fraction": float((mv.labels != clean_labels[key]).mean()),
                "disagreement_fraction": disagreement,
                "latent_variance": _nan_if_none(mv.mean_latent_variance),
                "quantized_variance": _nan_if_none(
                    None if mv.quantized_variance is None else float(mv.quantized_variance.mean())
                ),
                "flip_rate": _nan_if_none(mv.flip_rate),
            }
            if mv.scores is not None:
                for name, s in mv.scores.items():
                    row[f"dice_{name}"] = s["dice"]
                    row[f"hd95_{name}"] = s["hd95"]
                dices = [s["dice"] for s in mv.scores.values() if not np.isnan(s["dice"])]
                row["dice_mean"] = float(np.mean(dices)) if dices else float("nan")
            rows.append(row)
        if progress is not None:
            progress(i + 1, len(corruptions))
    return rows


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else float(value)
