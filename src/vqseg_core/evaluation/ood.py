"""``ood``: fit each model's typicality reference on its training images and measure how well
the score tells held-out images from another domain's, and clean from corrupted images.

Outputs in ``out``: ``reference_<key>.json`` (a :class:`~vqseg_core.analysis.ood.FeatureReference`
per model, the file shipped next to bundled weights), ``scores.csv`` (one row per image and
model: group, score, percentile) and ``table.md`` (AUC of each comparison per model).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vqseg_core.analysis.ood import FeatureReference, auc, image_summary
from vqseg_core.data.layouts import Case
from vqseg_core.engine.frame import make_draws, prepare
from vqseg_core.evaluation.common import case_seed, load_case
from vqseg_core.perturb import Corruption
from vqseg_core.reporting import write_csv, write_text

__all__ = ["member_summary", "run_ood"]


@torch.no_grad()
def member_summary(member: Any, array: np.ndarray, spacing: Sequence[float] | None,
                   corruption: Corruption | None = None) -> np.ndarray:  # fmt: skip
    """The bottleneck summary of one image for one member (optionally corrupted first)."""
    prep = prepare(member.recipe, array, spacing)
    x = prep.x if corruption is None else make_draws(prep, corruption, 1)[0]
    t = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))
    batch = t[None] if t.ndim - 1 == member.model_dims else t[0].movedim(-1, 0)[:, None]
    return image_summary(member.model.float().encode(batch).features)


def _summaries(models: Any, cases: Sequence[Case], corruption: Corruption | None = None,
               seed: int = 0) -> dict[str, np.ndarray]:  # fmt: skip
    out: dict[str, list[np.ndarray]] = {m.key: [] for m in models}
    for case in cases:
        loaded = load_case(case)
        c = None
        if corruption is not None:
            c = Corruption(corruption.kind, corruption.level, case_seed(seed, case.case_id))
        for m in models:
            out[m.key].append(member_summary(m, loaded.array, loaded.spacing, c))
    return {k: np.stack(v) for k, v in out.items()}


def run_ood(
    models: Any,
    train: Sequence[Case],
    heldout: Sequence[Case],
    shifted: Mapping[str, Sequence[Case]],
    out: str | Path,
    *,
    corruption: Corruption | None = None,
    source: str = "",
) -> dict[str, Path]:
    """Fit on ``train``, score ``heldout``, each ``shifted`` set and (optionally) ``heldout``
    under ``corruption``; write the outputs; returns them by name."""
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    files: dict[str, Path] = {}
    fitted = _summaries(models, train)
    refs = {}
    for m in models:
        info = {"dataset": source, "split": "train", "n": len(train), "model_sha256": m.sha256}
        refs[m.key] = FeatureReference.fit(fitted[m.key], info)
        files[f"reference_{m.key}"] = refs[m.key].save(out / f"reference_{m.key}.json")
    groups: dict[str, dict[str, np.ndarray]] = {"held-out": _summaries(models, heldout)}
    ids = {"held-out": [c.case_id for c in heldout]}
    for name, cases in shifted.items():
        groups[name] = _summaries(models, cases)
        ids[name] = [c.case_id for c in cases]
    if corruption is not None:
        label = f"held-out, {corruption.kind} {corruption.level:g}"
        groups[label] = _summaries(models, heldout, corruption)
        ids[label] = ids["held-out"]
    rows, scores = [], {}
    for group, by_key in groups.items():
        for key, summaries in by_key.items():
            s = np.array([refs[key].score(x) for x in summaries])
            scores[group, key] = s
            for case_id, v in zip(ids[group], s, strict=True):
                rows.append({"group": group, "case_id": case_id, "model": key, "score": v,
                             "percentile": refs[key].percentile(v)})  # fmt: skip
    files["csv"] = write_csv(out / "scores.csv", rows, ("group", "case_id", "model"))
    lines = ["| model | comparison | AUC | n | unusual (>= 99th training percentile) |",
             "|---|---|---|---|---|"]  # fmt: skip
    for m in models:
        base = scores["held-out", m.key]
        for group in groups:
            if group == "held-out":
                continue
            s = scores[group, m.key]
            unusual = float(np.mean([refs[m.key].percentile(v) >= 99.0 for v in s]))
            lines.append(f"| {m.name} | held-out vs {group} | {auc(base, s):.3f} | "
                         f"{len(base)} vs {len(s)} | {100 * unusual:.0f} % |")  # fmt: skip
        unusual = float(np.mean([refs[m.key].percentile(v) >= 99.0 for v in base]))
        lines.append(
            f"| {m.name} | held-out (no shift) | - | {len(base)} | {100 * unusual:.0f} % |"
        )
    files["table"] = out / "table.md"
    write_text(files["table"], "\n".join(lines) + "\n")
    return files
