"""Metrics tables, the sweep plot and the exported report folder (no Qt; matplotlib Agg only).

An export folder holds ``metrics.csv`` (live metrics), ``sweep.csv`` and ``sweep.png`` (after a
sweep), ``screenshot.png`` and ``settings.json`` (explorer settings, pair hashes, corruption,
package versions); :func:`read_settings` restores the settings from it.
"""

from __future__ import annotations

import csv
import json
import math
import platform
from collections.abc import Iterable, Mapping, Sequence
from importlib import metadata
from pathlib import Path
from typing import Any

from napari_vqseg.explorer.state import SETTINGS_VERSION, ExplorerSettings

MODELS = ("unet", "vqunet")
MODEL_LABEL = {"unet": "UNet", "vqunet": "VQ-UNet"}
DARK = {"bg": "#262930", "fg": "#f0f1f2", "grid": "#414851", "unet": "#ff8c42", "vqunet": "#4fc3f7"}
PACKAGES = ("napari-vqseg", "napari", "numpy", "torch", "monai", "scipy", "nibabel", "SimpleITK")


def metric_rows(view: Any) -> list[dict[str, Any]]:
    """One row per (class, model) of a view's scores: ``class``, ``model``, ``dice``, ``hd95_mm``."""
    rows: list[dict[str, Any]] = []
    for key in MODELS:
        scores = view.models[key].scores or {}
        for name, s in scores.items():
            rows.append({"class": name, "model": key, "dice": s["dice"], "hd95_mm": s["hd95"]})
    return rows


def latent_rows(view: Any) -> list[dict[str, Any]]:
    """Per-model latent summaries: mean latent variance and code-flip rate (``nan`` if absent)."""
    out = []
    for key in MODELS:
        mv = view.models[key]
        var = mv.mean_latent_variance
        out.append({
            "model": key,
            "latent_variance": math.nan if var is None else var,
            "flip_rate": math.nan if mv.flip_rate is None else mv.flip_rate,
        })  # fmt: skip
    return out


def fmt(value: float, digits: int = 3) -> str:
    """A number for a table cell; ``nan`` shows as an en dash."""
    return (
        "–"
        if value is None or (isinstance(value, float) and math.isnan(value))
        else f"{value:.{digits}f}"
    )


def sweep_metrics(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The metric columns of sweep rows worth plotting (Dice/HD95 per class, flip rate, ...)."""
    skip = {"kind", "level", "model", "seed", "n_draws"}
    names: list[str] = []
    for row in rows:
        for k in row:
            if k not in skip and k not in names:
                names.append(k)
    return names


def draw_sweep(
    figure: Any, rows: Sequence[Mapping[str, Any]], metric: str, units: str = ""
) -> None:
    """Plot ``metric`` vs level for both models on a matplotlib ``figure`` (napari's dark theme)."""
    figure.clear()
    figure.set_facecolor(DARK["bg"])
    ax = figure.add_subplot(111)
    ax.set_facecolor(DARK["bg"])
    for key in MODELS:
        pts = [(r["level"], r.get(metric, math.nan)) for r in rows if r["model"] == key]
        if pts:
            xs, ys = zip(*pts, strict=True)
            ax.plot(xs, ys, marker="o", color=DARK[key], label=MODEL_LABEL[key])
    kind = rows[0]["kind"] if rows else ""
    ax.set_xlabel(f"{kind} level ({units})" if units else f"{kind} level", color=DARK["fg"])
    ax.set_ylabel(metric.replace("hd95_", "HD95 (mm) ").replace("dice_", "Dice "), color=DARK["fg"])
    ax.tick_params(colors=DARK["fg"])
    for spine in ax.spines.values():
        spine.set_color(DARK["grid"])
    ax.grid(True, color=DARK["grid"], linewidth=0.5)
    if rows:
        legend = ax.legend(facecolor=DARK["bg"], edgecolor=DARK["grid"])
        for text in legend.get_texts():
            text.set_color(DARK["fg"])
    figure.tight_layout()


def write_csv(path: Path, rows: Iterable[Mapping[str, Any]]) -> Path:
    """Rows of dicts as CSV (columns in first-seen order)."""
    rows = list(rows)
    columns: list[str] = []
    for row in rows:
        columns.extend(k for k in row if k not in columns)
    with open(path, "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        writer.writerows(rows)
    return path


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages that shape a result (``None`` if absent)."""
    out: dict[str, str | None] = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def settings_document(
    settings: ExplorerSettings,
    pair: Any | None,
    view: Any | None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``settings.json`` document: settings, pair hashes, corruption and versions."""
    doc: dict[str, Any] = {
        "format": "napari-vqseg explorer settings",
        "version": SETTINGS_VERSION,
        "settings": settings.to_dict(),
        "pair": None if pair is None else {
            "name": pair.name, "sha256": dict(pair.sha256), "classes": {str(k): v for k, v in pair.classes.items()},
        },
        "corruption": None if view is None else view.corruption.to_dict(),
        "seed": settings.seed,
        "n_draws": settings.n_draws,
        "packages": package_versions(),
    }  # fmt: skip
    doc.update(extra or {})
    return doc


def export_report(
    folder: str | Path,
    settings: ExplorerSettings,
    *,
    pair: Any | None = None,
    view: Any | None = None,
    sweep: Sequence[Mapping[str, Any]] | None = None,
    screenshot: Any | None = None,
    units: str = "",
    extra: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write the report folder; returns the files written.

    Args:
        folder: created if missing.
        settings: the explorer settings (restorable with :func:`read_settings`).
        pair: the :class:`~vqseg_core.pretrained.ModelPair` (its name and hashes are recorded).
        view: the current :class:`~vqseg_core.robustness.RobustnessView` (metrics, corruption).
        sweep: rows of :func:`vqseg_core.robustness.level_sweep`.
        screenshot: an RGB(A) array of the viewer.
        units: the corruption level's units (plot axis label).
        extra: more JSON-able entries for ``settings.json``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    if view is not None:
        rows = metric_rows(view) or [
            {"class": None, "model": k, "dice": math.nan, "hd95_mm": math.nan} for k in MODELS
        ]
        latent = {r["model"]: r for r in latent_rows(view)}
        for row in rows:
            row.update({k: v for k, v in latent[row["model"]].items() if k != "model"})
            row.update(view.corruption.to_dict())
        written.append(write_csv(folder / "metrics.csv", rows))
    if sweep:
        written.append(write_csv(folder / "sweep.csv", sweep))
        from matplotlib.figure import Figure

        for metric in [
            m for m in sweep_metrics(sweep) if m.startswith(("dice", "hd95", "flip"))
        ] or ["changed_fraction"]:
            fig = Figure(figsize=(5, 3.5), dpi=100)
            draw_sweep(fig, sweep, metric, units)
            fig.savefig(folder / f"sweep_{metric}.png", facecolor=fig.get_facecolor())
            written.append(folder / f"sweep_{metric}.png")
    if screenshot is not None:
        import skimage.io

        skimage.io.imsave(folder / "screenshot.png", screenshot, check_contrast=False)
        written.append(folder / "screenshot.png")
    doc = settings_document(settings, pair, view, extra)
    (folder / "settings.json").write_text(json.dumps(_jsonable(doc), indent=2), encoding="utf-8")
    written.append(folder / "settings.json")
    return written


def read_settings(path: str | Path) -> ExplorerSettings:
    """The explorer settings stored in an export folder (or its ``settings.json``)."""
    path = Path(path)
    if path.is_dir():
        path = path / "settings.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as err:
        raise ValueError(f"cannot read explorer settings from {path}: {err}") from err
    if not isinstance(doc, dict) or "settings" not in doc:
        raise ValueError(f"{path} is not an explorer settings file (no 'settings' entry)")
    return ExplorerSettings.from_dict(doc["settings"])


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item") and callable(value.item):
        return _jsonable(value.item())
    return value
