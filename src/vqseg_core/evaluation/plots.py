"""PNG figures (matplotlib, Agg backend): Dice-vs-level curves and Fig. 2-style heatmaps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.evaluation.tables import MODEL_LABELS
from vqseg_core.metrics import summarize

COLOURS = {"unet": "tab:orange", "vqunet": "tab:blue"}


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def metric_vs_level(
    rows: Sequence[dict[str, Any]],
    kind: str,
    path: Path,
    *,
    metric: str = "dice_mean",
    title: str = "",
) -> Path:
    """Mean ``metric`` over cases vs level for both networks, with the 95% CI as a band.

    Args:
        rows: per-case rows of one dataset and pair (``noise`` output).
        kind: the corruption kind to plot.
        path: the PNG to write.
        metric: a row column, e.g. ``dice_mean``, ``dice_lungs`` or ``hd95_mean``.
        title: the figure title.
    """
    plt = _pyplot()
    rows = [r for r in rows if r["kind"] == kind]
    levels = sorted({float(r["level"]) for r in rows})
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    for model, name in MODEL_LABELS.items():
        stats = [
            summarize(
                float(r[metric]) for r in rows if r["model"] == model and float(r["level"]) == lv
            )
            for lv in levels
        ]
        mean = np.array([s.mean for s in stats])
        low = np.array([s.ci_low if s.n > 1 else s.mean for s in stats])
        high = np.array([s.ci_high if s.n > 1 else s.mean for s in stats])
        ax.plot(levels, mean, "o-", color=COLOURS[model], label=name)
        ax.fill_between(levels, low, high, color=COLOURS[model], alpha=0.2, linewidth=0)
    ax.set_xlabel(f"{kind} level (%)")
    ax.set_ylabel(metric.replace("_", " ") + (" (mm)" if metric.startswith("hd95") else ""))
    ax.set_title(title or f"{metric} vs {kind} level (mean, 95% CI)", fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


HEATMAP_PANELS = (
    ("unet", "channel_variance", "UNet"),
    ("vqunet", "channel_variance", "VQ-UNet (raw)"),
    ("vqunet", "channel_quantized_variance", "VQ-UNet (quantised)"),
)


def latent_heatmaps(
    rows: Sequence[dict[str, Any]], kind: str, path: Path, *, n_features: int = 64, title: str = ""
) -> Path:
    """Fig. 2: per-feature latent variance, one row per case, one panel per model and level.

    Features are the first ``n_features`` latent channels (each the variance across draws,
    averaged over latent positions). All panels share one linear colour scale, so a network
    whose latent does not move shows as a flat dark panel, as in the poster.
    """
    plt = _pyplot()
    rows = [r for r in rows if r["kind"] == kind]
    levels = sorted({float(r["level"]) for r in rows})
    cases = sorted({r["case_id"] for r in rows})
    panels = {}
    for model, field, name in HEATMAP_PANELS:
        for lv in levels:
            by_case = {
                r["case_id"]: r.get(field)
                for r in rows
                if r["model"] == model and float(r["level"]) == lv
            }
            if not any(v is not None for v in by_case.values()):
                continue
            mat = np.full((len(cases), n_features), np.nan)
            for i, c in enumerate(cases):
                values = by_case.get(c)
                if values is not None:
                    v = np.asarray(values, dtype=np.float64)[:n_features]
                    mat[i, : v.size] = v
            panels[name, lv] = mat
    names = list(dict.fromkeys(name for name, _ in panels))
    vmax = (
        max((float(np.nanmax(m)) for m in panels.values() if np.isfinite(m).any()), default=1.0)
        or 1.0
    )
    fig, axes = plt.subplots(
        len(names), len(levels), figsize=(2.2 * len(levels) + 1, 2.0 * len(names) + 0.6),
        dpi=100, squeeze=False,
    )  # fmt: skip
    image = None
    for i, name in enumerate(names):
        for j, lv in enumerate(levels):
            ax = axes[i][j]
            panel = panels.get((name, lv))
            if panel is not None:
                image = ax.imshow(
                    panel, aspect="auto", cmap="magma", vmin=0, vmax=vmax, interpolation="nearest"
                )
                ax.set_title(f"{name} @{lv:g}%\nmean {np.nanmean(panel):.2g}", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel("cases", fontsize=7)
            if i == len(names) - 1:
                ax.set_xlabel("features", fontsize=7)
    if image is not None:
        fig.colorbar(image, ax=axes, shrink=0.8, label="variance across draws")
    fig.suptitle(title or f"Latent variance under {kind} noise", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
