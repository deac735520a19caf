"""Dice and HD95 of every model of a set on one case under one corruption, over N draws.

The cell function shared by ``noise`` (kinds x levels) and ``shift`` (the clean image, on
in-domain and shifted datasets): one engine run (:func:`vqseg_core.engine.execute`, every draw
decoded) scored with :func:`vqseg_core.engine.score` on the input's own grid with the image's
spacing in mm; a case's row aggregates its draws.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from vqseg_core.engine import RunRequest, execute, score
from vqseg_core.evaluation.common import LoadedCase, case_seed, checked_truth
from vqseg_core.perturb import Corruption


def score_case_draws(
    models,
    case: LoadedCase,
    kind: str,
    level: float,
    *,
    n_draws: int,
    seed: int,
    device: str = "auto",
    precision: str = "auto",
    batch_size: int = 8,
    label_map: Mapping[int, int] | None = None,
) -> list[dict[str, Any]]:
    """One row per model: per-class Dice and HD95 aggregated over ``n_draws`` corrupted draws.

    Draw ``d`` uses seed ``case_seed(seed, case_id) + d`` for every model and every level.

    The ground truth is checked first: every value must be background or a class of the set
    (after ``label_map``, ``{file value: class}``, unlisted values becoming 0), else a
    :class:`~vqseg_core.data.labels.LabelError` names the label file and the values (a
    0/255 mask would otherwise score ``nan`` everywhere, silently).

    Returns:
        One row per member, in the set's order. Per class name ``c``: ``dice_c`` (mean over
        draws; ``nan`` when both masks are empty in every draw, or the class is not annotated in
        this case), ``dice_sd_c`` (sd over draws, ``ddof=0``), ``hd95_c`` (mm, mean over the
        draws where it is defined, else ``nan``), ``hd95_undefined_c`` (draws where it is not),
        ``empty_c`` (draws with an empty prediction while the target is not empty);
        ``dice_mean`` and ``hd95_mean`` average the classes (``nan`` ignored); ``empty_any``
        counts draws with any class missed.
    """
    truth = checked_truth(case, models.classes, label_map)  # hostile input: labels at the door
    corruption = Corruption(kind, float(level), case_seed(seed, case.case_id))
    request = RunRequest(models, case.array, tuple(case.spacing), corruption, n_draws, device,
                         precision, batch_size=batch_size, decode="all", latents=False)  # fmt: skip
    run = execute(request)
    scored = score(run, truth)
    rows = []
    for key, per_draw in scored.items():
        classes = run.models[key].member.classes
        row: dict[str, Any] = {
            "pair": models.name, "pair_id": models.id, "case_id": case.case_id, "model": key,
            "kind": kind, "level": float(level), "n_draws": n_draws, "seed": seed,
        }  # fmt: skip
        missed_any = np.zeros(n_draws, dtype=bool)
        for v, name in classes.items():
            d = np.array([p[v].dice for p in per_draw], dtype=np.float64)
            h = np.array([p[v].hd95 for p in per_draw], dtype=np.float64)
            missed = np.array([p[v].missed for p in per_draw])
            missed_any |= missed
            row[f"dice_{name}"] = _nanmean(d)
            row[f"dice_sd_{name}"] = float(np.nanstd(d)) if np.isfinite(d).any() else float("nan")
            row[f"hd95_{name}"] = _nanmean(h)
            row[f"hd95_undefined_{name}"] = int(np.isnan(h).sum())
            row[f"empty_{name}"] = int(missed.sum())
        names = list(classes.values())
        row["dice_mean"] = _nanmean(np.array([row[f"dice_{n}"] for n in names]))
        row["hd95_mean"] = _nanmean(np.array([row[f"hd95_{n}"] for n in names]))
        row["empty_any"] = int(missed_any.sum())
        rows.append(row)
    return rows


def _nanmean(a: np.ndarray) -> float:
    finite = a[~np.isnan(a)]
    return float(finite.mean()) if finite.size else float("nan")
