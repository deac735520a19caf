"""Dice and HD95 of both networks of a pair on one case under one corruption, over N draws.

The cell function shared by ``noise`` (kinds x levels) and ``shift`` (the clean image, on
in-domain and shifted datasets). Every draw is decoded (in batches) and scored on the input's
own grid with the image's spacing in mm; a case's row aggregates its draws.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from vqseg_core.evaluation.common import LoadedCase, case_seed, pair_id
from vqseg_core.metrics import dice_per_class, hd95_per_class
from vqseg_core.perturb import Corruption
from vqseg_core.robustness import make_draws, prepare, run_draws
from vqseg_core.robustness.view import MODEL_KEYS


def score_case_draws(
    pair,
    case: LoadedCase,
    kind: str,
    level: float,
    *,
    n_draws: int,
    seed: int,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int = 8,
) -> list[dict[str, Any]]:
    """One row per model: per-class Dice and HD95 aggregated over ``n_draws`` corrupted draws.

    Draw ``d`` uses seed ``case_seed(seed, case_id) + d`` for both models and every level.

    Returns:
        ``[unet_row, vqunet_row]``. Per class name ``c``: ``dice_c`` (mean over draws;
        ``nan`` when both masks are empty in every draw), ``dice_sd_c`` (sd over draws,
        ``ddof=0``), ``hd95_c`` (mm, mean over the draws where it is defined, else ``nan``),
        ``hd95_undefined_c`` (draws where it is not), ``empty_c`` (draws with an empty
        prediction while the target is not empty); ``dice_mean`` and ``hd95_mean`` average the
        classes (``nan`` ignored); ``empty_any`` counts draws with any class missed.
    """
    base_seed = case_seed(seed, case.case_id)
    corruption = Corruption(kind, float(level), base_seed)
    prepared = prepare(pair, case.array, case.spacing)
    draws = make_draws(prepared, corruption, n_draws)
    values = list(pair.classes)
    # classes absent from the whole ground truth (e.g. heart on a lungs-only dataset) are not
    # scored: their Dice and HD95 are nan, so the means average the annotated classes only
    unannotated = [v for v in values if not (case.labels == v).any()]
    rows = []
    for key in MODEL_KEYS:
        out = run_draws(
            pair.predictor(key, device, precision), draws, decode_all=True, batch_size=batch_size
        )
        per_draw = []
        for labels in out.labels:
            grid = pair.recipe.invert_labels(labels, prepared.context)
            dice = dice_per_class(grid, case.labels, values)
            hd = hd95_per_class(grid, case.labels, case.spacing, values)
            for v in unannotated:  # the ground truth cannot judge these classes
                dice[v], hd[v] = float("nan"), float("nan")
            present = {v: bool((grid == v).any()) for v in values}
            target = {v: bool((case.labels == v).any()) for v in values}
            per_draw.append((dice, hd, present, target))
        row: dict[str, Any] = {
            "pair": pair.name,
            "pair_id": pair_id(pair),
            "case_id": case.case_id,
            "model": key,
            "kind": kind,
            "level": float(level),
            "n_draws": n_draws,
            "seed": seed,
        }
        missed_any = np.zeros(n_draws, dtype=bool)
        for v in values:
            name = pair.classes[v]
            d = np.array([p[0][v] for p in per_draw], dtype=np.float64)
            h = np.array([p[1][v] for p in per_draw], dtype=np.float64)
            missed = np.array([p[3][v] and not p[2][v] for p in per_draw])
            missed_any |= missed
            row[f"dice_{name}"] = _nanmean(d)
            row[f"dice_sd_{name}"] = float(np.nanstd(d)) if np.isfinite(d).any() else float("nan")
            row[f"hd95_{name}"] = _nanmean(h)
            row[f"hd95_undefined_{name}"] = int(np.isnan(h).sum())
            row[f"empty_{name}"] = int(missed.sum())
        names = [pair.classes[v] for v in values]
        row["dice_mean"] = _nanmean(np.array([row[f"dice_{n}"] for n in names]))
        row["hd95_mean"] = _nanmean(np.array([row[f"hd95_{n}"] for n in names]))
        row["empty_any"] = int(missed_any.sum())
        rows.append(row)
    return rows


def _nanmean(a: np.ndarray) -> float:
    finite = a[~np.isnan(a)]
    return float(finite.mean()) if finite.size else float("nan")
