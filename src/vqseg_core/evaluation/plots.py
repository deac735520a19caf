"""PNG figures (matplotlib, Agg backend): Dice-vs-level curves and Fig. 2-style heatmaps."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.evaluation.tables import _models, model_label
from vqseg_core.metrics import summarize

COLOURS = {"unet": "tab:orange", "vqunet": "tab:blue"}
CYCLE = ("tab:green", "tab:red", "tab:purple", "tab:brown", "tab:pink", "tab:olive")


def model_colour(key: str, position: int) -> str:
    """The colour of a model in the plots: fixed for the bundled kinds, else by position."""
    return COLOURS.get(key, CYCLE[position % len(CYCLE)])


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
    """Mean ``metric`` over cases vs level for every model, with the 95% CI as a band.

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
    for i, model in enumerate(_models(rows)):
        name, colour = model_label(model), model_colour(model, i)
        stats = [
            summarize(
                float(r[metric]) for r in rows if r["model"] == model and float(r["level"]) == lv
            )
            for lv in levels
        ]
        mean = np.array([s.mean for s in stats])
        low = np.array([s.ci_low if s.n > 1 else s.mean for s in stats])
        high = np.array([s.ci_high if s.n > 1 else s.mean for s in stats])
        ax.plot(levels, mean, "o-", color=colour, label=name)
        ax.fill_between(levels, low, high, color=colour, alpha=0.2, linewidth=0)
    ax.set_xlabel(f"{kind} level (%)")
    ax.set_ylabel(metric.replace("_", " ") + (" (mm)" if metric.startswith("hd95") else ""))
    ax.set_title(title or f"{metric} vs {kind} level (mean, 95% CI)", fontsize=9)
    return save_line_plot(plt, fig, ax, path)


def save_line_plot(plt: Any, fig: Any, ax: Any, path: Path) -> Path:
    """Grid, legend, tight layout; write ``path`` (folders made) and close the figure."""
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def heatmap_panels(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """``(model, field, row name)``: each model's raw bottleneck, and the quantised one where
    the model has it (UNet; VQ-UNet raw; VQ-UNet quantised for the bundled pairs)."""
    out = []
    for model in _models(rows):
        quantised = any(r.get("channel_quantized_variance") is not None
                        for r in rows if r["model"] == model)  # fmt: skip
        name = model_label(model)
        out.append((model, "channel_variance", f"{name} (raw)" if quantised else name))
        if quantised:
            out.append((model, "channel_quantized_variance", f"{name} (quantised)"))
    return out


def latent_heatmaps(
    rows: Sequence[dict[str, Any]], kind: str, path: Path, *, n_features: int = 64, title: str = ""
) -> Path:
    """Fig. 2: per-feature latent variance, one row per case, one panel per model and level.

    Features are the first ``n_features`` latent channels (each the variance across draws,
    averaged over latent positions). Each network's latent (a figure row: UNet, VQ-UNet raw,
    VQ-UNet quantised) has its **own** linear colour scale, 0 to its largest value over all
    levels, with its own colour bar: the networks' feature scales differ (the VQ-UNet's raw
    variance is far smaller), so a shared scale would show the VQ-UNet as flat whatever its
    relative movement. Compare levels within a row, not brightness between rows; the
    scale-free comparison is the relative variance of the tables. The figure title says so.
    """
    plt = _pyplot()
    rows = [r for r in rows if r["kind"] == kind]
    levels = sorted({float(r["level"]) for r in rows})
    cases = sorted({r["case_id"] for r in rows})
    panels = {}
    for model, field, name in heatmap_panels(rows):
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
    vmax = {name: _row_max(m for (n, _), m in panels.items() if n == name) for name in names}
    fig, axes = plt.subplots(
        len(names), len(levels), figsize=(2.2 * len(levels) + 1, 2.0 * len(names) + 0.9),
        dpi=100, squeeze=False,
    )  # fmt: skip
    for i, name in enumerate(names):
        image = None
        for j, lv in enumerate(levels):
            ax = axes[i][j]
            panel = panels.get((name, lv))
            if panel is not None:
                image = ax.imshow(
                    panel, aspect="auto", cmap="magma", vmin=0, vmax=vmax[name],
                    interpolation="nearest",
                )  # fmt: skip
                ax.set_title(f"{name} @{lv:g}%\nmean {np.nanmean(panel):.2g}", fontsize=7)
            ax.set_xticks([])
            ax.set_yticks([])
            if j == 0:
                ax.set_ylabel("cases", fontsize=7)
            if i == len(names) - 1:
                ax.set_xlabel("features", fontsize=7)
        if image is not None:
            bar = fig.colorbar(image, ax=list(axes[i]), shrink=0.9)
            bar.set_label(f"{name}: variance", fontsize=7)
            bar.ax.tick_params(labelsize=6)
    caption = "each row has its own colour scale (feature scales differ between networks)"
    fig.suptitle(f"{title or f'Latent variance under {kind} noise'}\n{caption}", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def _row_max(mats) -> float:
    """The largest finite value of a figure row's panels (1.0 when there is none or it is 0)."""
    values = [float(np.nanmax(m)) for m in mats if np.isfinite(m).any()]
    return max(values, default=1.0) or 1.0
