"""``probe``: which path of each network carries the segmentation, and which the damage.

For every case and model (on the model grid, float32, the ground truth resized there with
nearest neighbour):

* ``clean``: the ordinary prediction on the clean image;
* ``bottleneck_zero`` / ``bottleneck_mean`` / ``bottleneck_swap``: the clean image with its
  bottleneck replaced by zeros, by the mean decoder input over the evaluated cases, or by the
  next case's bottleneck (skips intact): how much Dice falls when the bottleneck is destroyed;
* per corruption kind and level: ``noisy`` (both paths see the corrupted image),
  ``noisy_bottleneck`` (clean skips, corrupted bottleneck) and ``noisy_skips`` (corrupted skips,
  clean bottleneck): which path carries the damage; and ``certified``: the share of bottleneck
  positions whose noise-induced shift stays inside their flip radius (VQ networks only).

The probes live in :mod:`vqseg_core.analysis.paths`; this module loops them over cases.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from vqseg_core.analysis.paths import ablated_logits, certified_fraction, split_logits
from vqseg_core.data.layouts import Case
from vqseg_core.data.resample import resize_labels
from vqseg_core.engine.frame import make_draws, prepare
from vqseg_core.evaluation.common import case_seed, load_case
from vqseg_core.metrics import dice
from vqseg_core.perturb import Corruption

__all__ = ["PROBE_FIRST", "probe_rows"]

PROBE_FIRST = ("case_id", "model", "probe", "kind", "level")


def _batch(x: np.ndarray, model_dims: int) -> torch.Tensor:
    """``(1, *model_shape)`` -> the network's batch (a volume's axial slices for a 2D net)."""
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    if t.ndim - 1 == model_dims:
        return t[None]
    return t[0].movedim(-1, 0)[:, None]  # (D, 1, H, W)


def _labels(logits: torch.Tensor, model_dims: int, volume: bool) -> np.ndarray:
    labels = logits.argmax(1)
    return (labels.movedim(0, -1) if volume and model_dims == 2 else labels[0]).numpy()


def _scores(pred: np.ndarray, truth: np.ndarray, classes: dict[int, str]) -> dict[str, float]:
    out = {}
    for value, name in classes.items():
        out[f"dice_{name}"] = (
            float(dice(pred == value, truth == value)) if (truth == value).any() else float("nan")
        )
    finite = [v for v in out.values() if np.isfinite(v)]
    out["dice_mean"] = float(np.mean(finite)) if finite else float("nan")
    return out


def probe_rows(
    models: Any,
    cases: Sequence[Case],
    kinds: Sequence[str],
    levels: Sequence[float],
    *,
    seed: int = 0,
) -> list[dict[str, Any]]:
    """Every probe of every member on ``cases`` (one row per case x member x probe x level);
    ``certified`` is ``nan`` for networks without a bottleneck quantiser."""
    rows: list[dict[str, Any]] = []
    loaded = [load_case(c) for c in cases]
    for member in models:
        model = member.model.float().eval()
        prepared = [prepare(member.recipe, c.array, c.spacing) for c in loaded]
        with torch.no_grad():
            hs = [model.paths(_batch(p.x, member.model_dims))[0] for p in prepared]
        mean = torch.cat(hs).mean(dim=0)
        for i, case in enumerate(loaded):
            other = prepared[(i + 1) % len(prepared)]
            rows += _probe_case(member, case, prepared[i], other, mean, kinds, levels, seed)
    return rows


@torch.no_grad()
def _probe_case(member, case, prep, other_prep, mean, kinds, levels, seed) -> list[dict[str, Any]]:
    model, dims = member.model, member.model_dims
    volume = prep.x.ndim - 1 == 3
    truth = resize_labels(case.labels, prep.model_shape)
    x, other = _batch(prep.x, dims), _batch(other_prep.x, dims)
    rows: list[dict[str, Any]] = []

    def add(probe: str, logits: torch.Tensor, kind: str = "", level: float = 0.0, **extra) -> None:
        scores = _scores(_labels(logits, dims, volume), truth, member.classes)
        rows.append({"case_id": case.case_id, "model": member.key, "probe": probe, "kind": kind,
                     "level": level, **scores, **extra})  # fmt: skip

    add("clean", model(x))
    add("bottleneck_zero", ablated_logits(model, x, "zero"))
    add("bottleneck_mean", ablated_logits(model, x, "mean", mean=mean))
    if other.shape == x.shape:
        add("bottleneck_swap", ablated_logits(model, x, "swap", other=other))
    for kind in kinds:
        for level in map(float, levels):
            corruption = Corruption(kind, level, case_seed(seed, case.case_id))
            if corruption.is_identity:
                continue
            noisy = _batch(make_draws(prep, corruption, 1)[0], dims)
            add("noisy", model(noisy), kind, level, certified=certified_fraction(model, x, noisy))
            add("noisy_bottleneck", split_logits(model, x, noisy), kind, level)
            add("noisy_skips", split_logits(model, noisy, x), kind, level)
    return rows


def probe_table(rows: Sequence[dict[str, Any]], metric: str) -> str:
    """Markdown: per model, mean ``metric`` over cases for every probe (and the certified share)."""
    from vqseg_core.reporting import fmt

    models = list(dict.fromkeys(r["model"] for r in rows))
    fixed = ["clean", "bottleneck_zero", "bottleneck_mean", "bottleneck_swap"]
    noisy = sorted({(r["kind"], float(r["level"])) for r in rows if r["kind"]})
    lines = [f"Mean {metric} over cases on the model grid.", "",
             "| model | " + " | ".join(fixed) + " |", "|---|" + "---|" * len(fixed)]  # fmt: skip

    def mean(
        model: str, probe: str, kind: str = "", level: float | None = None, key: str = metric
    ) -> str:
        values = [float(r[key]) for r in rows if r["model"] == model and r["probe"] == probe
                  and r["kind"] == kind and (level is None or float(r["level"]) == level)
                  and r.get(key) is not None]  # fmt: skip
        values = [v for v in values if np.isfinite(v)]
        return fmt(float(np.mean(values))) if values else "-"

    for m in models:
        lines.append(f"| {m} | " + " | ".join(mean(m, p) for p in fixed) + " |")
    if noisy:
        lines += ["", "| model | kind | level | noisy (both paths) | noisy bottleneck only | "
                  "noisy skips only | certified positions |", "|---|---|---|---|---|---|---|"]  # fmt: skip
        for m in models:
            for kind, level in noisy:
                lines.append(
                    f"| {m} | {kind} | {level:g} | {mean(m, 'noisy', kind, level)} | "
                    f"{mean(m, 'noisy_bottleneck', kind, level)} | {mean(m, 'noisy_skips', kind, level)} | "
                    f"{mean(m, 'noisy', kind, level, 'certified')} |"
                )
    return "\n".join(lines) + "\n"


def run_probes(
    models_list: Sequence[Any],
    dataset: str,
    cases: Sequence[Case],
    out: Any,
    kinds: Sequence[str],
    levels: Sequence[float],
    *,
    seed: int = 0,
) -> Any:
    """Probe every set on ``cases``; write ``probes.csv``, ``table.md`` and ``settings.json``."""
    from pathlib import Path

    from vqseg_core.evaluation.common import write_settings
    from vqseg_core.evaluation.noise import EvalResult
    from vqseg_core.reporting import write_csv, write_text

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    rows = []
    for models in models_list:
        for r in probe_rows(models, cases, kinds, levels, seed=seed):
            rows.append({"dataset": dataset, "pair": models.name, **r})
    result = EvalResult(rows, computed=len(rows), total=len(rows))
    result.files["csv"] = write_csv(out / "probes.csv", rows, ("dataset", "pair", *PROBE_FIRST))
    classes = [k for k in rows[0] if k.startswith("dice_")] if rows else []
    parts = ["## Mechanism probes", ""]
    for metric in classes:
        parts += [f"### {metric}", "", probe_table(rows, metric)]
    result.files["table"] = out / "table.md"
    write_text(result.files["table"], "\n".join(parts))
    settings = {"dataset": dataset, "cases": [c.case_id for c in cases], "kinds": list(kinds),
                "levels": list(levels), "seed": seed}  # fmt: skip
    result.files["settings"] = write_settings(out, "probe", settings, models_list)
    return result
