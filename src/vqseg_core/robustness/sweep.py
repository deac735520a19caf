"""A level sweep: per-level metrics of every model on one image (the plugin's plot dock)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

from vqseg_core.engine import BOTTLENECK, RunRequest, check_cancel, check_ground_truth, execute
from vqseg_core.perturb import PAPER_KINDS, Corruption, get_spec
from vqseg_core.robustness.view import ModelView, view_of

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
    cancel=None,
    progress: ProgressFn | None = None,
    *,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int = 8,
    reference: str | None = None,
) -> list[dict[str, Any]]:
    """Metrics of every model at each corruption level, with common random numbers.

    Level ``l`` uses draws with seeds ``seed .. seed + n_draws - 1`` (the same noise pattern at
    every level, scaled): each level is one engine run (:func:`vqseg_core.engine.execute`).

    Args:
        pair: a :class:`~vqseg_core.modelset.ModelSet` (a pair is one).
        array, spacing: the raw image and its spacing in mm (see :func:`analyse`).
        kind: corruption kind.
        levels: levels to visit (default :func:`default_levels`).
        seed: seed of draw 0.
        n_draws: draws per level (latent variance needs >= 2).
        ground_truth: labels on the input grid, to add Dice and HD95 per class.
        cancel: returns True to abort (raises :class:`Cancelled` between batches).
        progress: called as ``progress(done, total)`` after each level.
        device, precision, batch_size: see :func:`analyse`.
        reference: the model others are compared with (default: the first).

    Returns:
        One dict per (level, model), in level order, models in the set's order. Keys:
        ``kind``, ``level``, ``model`` (the member key), ``seed``, ``n_draws``;
        ``changed_fraction`` (share of input-grid pixels whose label differs from the model's
        clean prediction), ``disagreement_fraction`` (share where it differs from the reference
        model; for the reference: where any model differs from it), ``latent_variance`` (mean;
        ``nan`` when ``n_draws < 2`` or unavailable), ``quantized_variance`` and ``flip_rate``
        (quantised bottleneck only, else ``nan``), the same three with a ``_<latent>`` suffix
        for every other latent (quantised skips); with a ground truth ``dice_<class>``,
        ``hd95_<class>`` and ``dice_mean`` (mean over classes, ``nan`` ignored).
    """
    levels = tuple(default_levels(kind) if levels is None else levels)
    corruptions = [Corruption(kind, float(level), seed) for level in levels]
    base = RunRequest(pair, np.asarray(array), None if spacing is None else tuple(spacing),
                      corruptions[0], n_draws, device, precision, None, batch_size)  # fmt: skip
    gt = check_ground_truth(ground_truth, base.image.shape)
    check_cancel(cancel)
    clean_run = execute(base.with_(corruption=Corruption(kind, get_spec(kind).identity, seed),
                                   n_draws=1, latents=False), cancel)  # fmt: skip
    clean_labels = {k: mr.labels[0] for k, mr in clean_run.models.items()}
    rows: list[dict[str, Any]] = []
    for i, corruption in enumerate(corruptions):
        view = view_of(execute(base.with_(corruption=corruption), cancel), gt, reference)
        for key, mv in view.models.items():
            differs = view.disagreement if mv.disagreement is None else mv.disagreement
            row: dict[str, Any] = {
                "kind": kind, "level": corruption.level, "model": key, "seed": seed,
                "n_draws": n_draws,
                "changed_fraction": float((mv.labels != clean_labels[key]).mean()),
                "disagreement_fraction": float(differs.mean()),
            }  # fmt: skip
            row.update(_latent_columns(mv))
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


def _latent_columns(mv: ModelView) -> dict[str, float]:
    """Mean latent variance, quantised variance and flip rate of every latent of a model."""
    out = {}
    for name in [BOTTLENECK, *(n for n in mv.latents if n != BOTTLENECK)]:
        lat = mv.latents.get(name)
        suffix = "" if name == BOTTLENECK else f"_{name}"
        out[f"latent_variance{suffix}"] = _mean(None if lat is None else lat.variance)
        out[f"quantized_variance{suffix}"] = _mean(None if lat is None else lat.quantized_variance)
        out[f"flip_rate{suffix}"] = _nan_if_none(None if lat is None else lat.flip_rate)
    return out


def _mean(a: np.ndarray | None) -> float:
    return float("nan") if a is None else float(a.mean())


def _nan_if_none(value: float | None) -> float:
    return float("nan") if value is None else float(value)
