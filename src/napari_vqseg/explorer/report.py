"""Metrics rows, the sweep plot and the exported report folder (no Qt; matplotlib Agg only).

An export folder holds ``report.html`` (one self-contained page: screenshot, metrics with
units, warnings, sweep plots, model hashes and versions; :mod:`.html_report`),
``metrics.csv`` (live metrics, one row per model and class),
``sweep.csv`` and ``sweep_<metric>.png`` (after a sweep), ``screenshot.png`` and
``settings.json`` (explorer settings, the model set's summary and id, corruption, package
versions); :func:`read_settings` restores the settings from it. Numbers, CSV, JSON and
versions are written by :mod:`vqseg_core.reporting`, as everywhere else in the project.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from napari_vqseg.explorer.settings import BOTTLENECK, SETTINGS_VERSION, ExplorerSettings
from vqseg_core.reporting import jsonable, versions, write_csv

DARK = {"bg": "#262930", "fg": "#f0f1f2", "grid": "#414851"}
"""napari's dark theme (plot background, text, grid lines)."""

METRICS_FIRST = ("model", "name", "class", "dice", "hd95", "hd95_units")


def _name(legend: Mapping[str, Any] | None, key: str, default: str = "") -> str:
    info = (legend or {}).get(key)
    return getattr(info, "name", None) or default or key


def metric_rows(view: Any, legend: Mapping[str, Any] | None = None) -> list[dict[str, Any]]:
    """One row per (model, annotated class) of a view's scores, models in the view's order.

    Keys: ``model`` (member key), ``name`` (display name), ``class``, ``dice``, ``hd95`` and
    ``hd95_units`` (``view.hd95_units``).
    """
    rows: list[dict[str, Any]] = []
    for key, mv in view.models.items():
        for cls, s in (mv.scores or {}).items():
            rows.append({"model": key, "name": _name(legend, key, mv.name), "class": cls,
                         "dice": s["dice"], "hd95": s["hd95"], "hd95_units": view.hd95_units})  # fmt: skip
    return rows


def latent_rows(
    view: Any, latent: str = BOTTLENECK, legend: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Per model: mean variance and code-flip rate of one latent (``nan`` where it has none).

    Keys: ``model``, ``name``, ``latent``, ``latent_variance``, ``flip_rate``.
    """
    out = []
    for key, mv in view.models.items():
        lat = mv.latents.get(latent)
        var = None if lat is None or lat.variance is None else float(lat.variance.mean())
        flips = None if lat is None else lat.flip_rate
        out.append({"model": key, "name": _name(legend, key, mv.name), "latent": latent,
                    "latent_variance": math.nan if var is None else var,
                    "flip_rate": math.nan if flips is None else float(flips)})  # fmt: skip
    return out


def agreement(labels: Any, reference: Any) -> float:
    """Mean Dice of ``labels`` against ``reference`` over the classes either has (1.0 when both
    are empty): how far one model's mask agrees with another's, without a ground truth."""
    from vqseg_core.engine.score import mask_agreement

    return mask_agreement(labels, reference)


def sized_classes(view: Any) -> list[str]:
    """The classes of the models' sizes (area or volume), in order."""
    return list(dict.fromkeys(c for mv in view.models.values() for c in getattr(mv, "sizes", {})))


def size_column(view: Any, cls: str) -> str:
    """The key of a class's size: ``"area_lungs"`` (2D) or ``"volume_liver"`` (3D)."""
    return f"{getattr(view, 'size_name', 'area')}_{cls}"


def scored_classes(view: Any) -> list[str]:
    """The annotated classes of a view's scores, in order (empty without a ground truth)."""
    return list(dict.fromkeys(c for mv in view.models.values() for c in (mv.scores or {})))


def model_values(
    view: Any, latent: str = BOTTLENECK, legend: Mapping[str, Any] | None = None
) -> dict[str, dict[str, Any]]:
    """The numbers the metrics table shows and the export writes, per model key.

    ``dice_<class>`` / ``hd95_<class>`` with a ground truth; without one ``agreement`` (mean
    Dice of the model's mask against the reference model's), ``clean_agreement`` (mean Dice of
    the model's mask against its own mask of the clean image; ``nan`` until computed) and the
    size of each class, ``area_<class>`` or ``volume_<class>`` (:func:`size_column`, in
    ``view.size_units``); ``latent_variance``, ``flip_rate``; with a typicality reference,
    ``typicality_percentile`` and ``typicality_reading``. ``nan`` marks a value that is
    undefined (shown as "n/a").
    """
    classes = scored_classes(view)
    ref = view.models.get(view.reference)
    latents = {r["model"]: r for r in latent_rows(view, latent, legend)}
    typical = getattr(view, "typicality", None) or {}
    out: dict[str, dict[str, Any]] = {}
    for key, mv in view.models.items():
        values: dict[str, Any] = {}
        for c in classes:
            s = (mv.scores or {}).get(c, {"dice": math.nan, "hd95": math.nan})
            values[f"dice_{c}"], values[f"hd95_{c}"] = s["dice"], s["hd95"]
        if not classes:
            values["agreement"] = agreement(mv.labels, ref.labels) if ref is not None else math.nan
            change = getattr(mv, "clean_agreement", None)
            values["clean_agreement"] = math.nan if change is None else change
            sizes = getattr(mv, "sizes", {})
            for c in sized_classes(view):
                values[size_column(view, c)] = sizes.get(c, math.nan)
        values["latent_variance"] = latents[key]["latent_variance"]
        values["flip_rate"] = latents[key]["flip_rate"]
        if typical:
            t = typical.get(key)
            values["typicality_percentile"] = math.nan if t is None else t["percentile"]
            values["typicality_reading"] = "" if t is None else t["reading"]
        out[key] = values
    return out


def sweep_metrics(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """The metric columns of sweep rows worth plotting (Dice/HD95 per class, flip rate, ...)."""
    skip = {"kind", "level", "model", "seed", "n_draws"}
    names: list[str] = []
    for row in rows:
        for k in row:
            if k not in skip and k not in names:
                names.append(k)
    return names


_METRIC_LABELS = {
    "dice_mean": "Dice, mean over classes",
    "changed_fraction": "changed vs clean image (share of pixels)",
    "disagreement_fraction": "differs from reference (share of pixels)",
    "latent_variance": "latent variance (mean)",
    "quantized_variance": "quantised latent variance (mean)",
    "flip_rate": "code flips (share of codes)",
}


def metric_label(name: str) -> str:
    """A sweep column in words: ``"dice_lungs"`` -> ``"Dice lungs"``, ``"flip_rate_skip0"``
    -> ``"code flips (share of codes), skip0"``; an unknown column is returned as it is."""
    if name in _METRIC_LABELS:
        return _METRIC_LABELS[name]
    for base, text in _METRIC_LABELS.items():
        if base != "dice_mean" and name.startswith(base + "_"):
            return f"{text}, {name[len(base) + 1 :]}"
    for prefix, text in (("dice_", "Dice "), ("hd95_", "HD95 ")):
        if name.startswith(prefix):
            return text + name[len(prefix) :]
    return name


def sweep_title(rows: Sequence[Mapping[str, Any]], image: str = "") -> str:
    """What a sweep plot rests on: ``"chest.png: one image, seed 0, 2 draws per level"``."""
    seeds = sorted({r["seed"] for r in rows if "seed" in r})
    draws = sorted({r["n_draws"] for r in rows if "n_draws" in r})
    parts = ["one image"]
    if seeds:
        parts.append(f"seed {', '.join(map(str, seeds))}")
    if draws:
        parts.append(f"{'/'.join(map(str, draws))} draw{'s' if draws[-1] != 1 else ''} per level")
    text = ", ".join(parts)
    return f"{image}: {text}" if image else text[0].upper() + text[1:]


def export_failure(err: OSError, folder: str | Path) -> str:
    """A failed export in plain words (no traceback): what could not be written and why."""
    reason = err.strerror or str(err)
    where = f" ({err.filename})" if getattr(err, "filename", None) else ""
    return (f"Could not write the report to {folder}: {reason}{where}. Choose a folder you can "
            "write to, with free space.")  # fmt: skip


def draw_sweep(
    figure: Any,
    rows: Sequence[Mapping[str, Any]],
    metric: str,
    units: str = "",
    legend: Mapping[str, Any] | None = None,
    image: str = "",
) -> None:
    """Plot ``metric`` vs level, one line per model in its colour (napari's dark theme), titled
    with what it rests on (:func:`sweep_title`: one image, its seed and draws).

    Args:
        figure: a matplotlib ``Figure`` (cleared first).
        rows: rows of :func:`vqseg_core.robustness.level_sweep`.
        metric: a column of the rows.
        units: the level's units (axis label).
        legend: ``{key: MemberInfo}`` (names and colours; default the key and matplotlib's).
        image: the image's name for the title.
    """
    figure.clear()
    figure.set_facecolor(DARK["bg"])
    ax = figure.add_subplot(111)
    ax.set_facecolor(DARK["bg"])
    keys = list(dict.fromkeys(r["model"] for r in rows))
    for key in keys:
        pts = [(r["level"], r.get(metric, math.nan)) for r in rows if r["model"] == key]
        info = (legend or {}).get(key)
        xs, ys = zip(*pts, strict=True)
        ax.plot(xs, ys, marker="o", label=_name(legend, key),
                color=getattr(info, "colour", None))  # fmt: skip
    kind = rows[0]["kind"] if rows else ""
    ax.set_xlabel(f"{kind} level ({units})" if units else f"{kind} level", color=DARK["fg"])
    ax.set_ylabel(metric_label(metric), color=DARK["fg"])
    if rows:
        ax.set_title(sweep_title(rows, image), color=DARK["fg"], fontsize=9)
    ax.tick_params(colors=DARK["fg"])
    for spine in ax.spines.values():
        spine.set_color(DARK["grid"])
    ax.grid(True, color=DARK["grid"], linewidth=0.5)
    if rows:
        box = ax.legend(facecolor=DARK["bg"], edgecolor=DARK["grid"])
        for text in box.get_texts():
            text.set_color(DARK["fg"])
    figure.tight_layout()


def settings_document(
    settings: ExplorerSettings,
    models: Any | None,
    view: Any | None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The ``settings.json`` document: settings, the set (id, hashes), corruption, versions."""
    doc: dict[str, Any] = {
        "format": "napari-vqseg explorer settings",
        "version": SETTINGS_VERSION,
        "settings": settings.to_dict(),
        "models": None if models is None else models.summary(),
        "reference": None if view is None else view.reference,
        "corruption": None if view is None else view.corruption.to_dict(),
        "seed": settings.seed,
        "n_draws": settings.n_draws,
        "packages": versions(),
    }
    doc.update(extra or {})
    return doc


def export_report(
    folder: str | Path,
    settings: ExplorerSettings,
    *,
    models: Any | None = None,
    view: Any | None = None,
    sweep: Sequence[Mapping[str, Any]] | None = None,
    screenshot: Any | None = None,
    units: str = "",
    legend: Mapping[str, Any] | None = None,
    extra: Mapping[str, Any] | None = None,
) -> list[Path]:
    """Write the report folder; returns the files written.

    Args:
        folder: created if missing.
        settings: the explorer settings (restorable with :func:`read_settings`).
        models: the :class:`~vqseg_core.modelset.ModelSet` (its summary and id are recorded).
        view: the current :class:`~vqseg_core.robustness.RobustnessView` (metrics, corruption).
        sweep: rows of :func:`vqseg_core.robustness.level_sweep`.
        screenshot: an RGB(A) array of the viewer.
        units: the corruption level's units (plot axis label).
        legend: ``{key: MemberInfo}`` (display names and colours).
        extra: more JSON-able entries for ``settings.json``.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    rows: list[dict[str, Any]] = []
    if view is not None:
        rows = export_rows(view, settings.latent, legend)
        written.append(write_csv(folder / "metrics.csv", rows, first=METRICS_FIRST))
    image_name = str(((extra or {}).get("image") or {}).get("layer") or "")
    if sweep:
        written.append(write_csv(folder / "sweep.csv", sweep, first=("kind", "level", "model")))
        from matplotlib.figure import Figure

        names = sweep_metrics(sweep)
        scored = any(m.startswith("dice") for m in names)  # else: change from the clean image
        for metric in [
            m for m in names
            if m.startswith(("dice", "hd95", "flip")) or (m == "changed_fraction" and not scored)
        ] or ["changed_fraction"]:  # fmt: skip
            fig = Figure(figsize=(5, 3.5), dpi=100)
            draw_sweep(fig, sweep, metric, units, legend, image_name)
            fig.savefig(folder / f"sweep_{metric}.png", facecolor=fig.get_facecolor())
            written.append(folder / f"sweep_{metric}.png")
    if screenshot is not None:
        import skimage.io

        skimage.io.imsave(folder / "screenshot.png", screenshot, check_contrast=False)
        written.append(folder / "screenshot.png")
    doc = jsonable(settings_document(settings, models, view, extra))
    text = json.dumps(doc, indent=2, allow_nan=False)
    (folder / "settings.json").write_text(text, encoding="utf-8")
    written.append(folder / "settings.json")
    from napari_vqseg.explorer.html_report import write_html_report

    written.append(write_html_report(folder, doc, rows, written, view=view, legend=legend))
    return written


def export_rows(
    view: Any, latent: str = BOTTLENECK, legend: Mapping[str, Any] | None = None
) -> list[dict[str, Any]]:
    """``metrics.csv`` rows: one per (model, annotated class) with Dice/HD95 and its units, or
    one per model without a ground truth (with ``agreement``, ``clean_agreement`` and the class
    sizes with their units, ``area_units`` or ``volume_units``); each with the latent
    statistics, the typicality (bundled sets), the reference model and the corruption."""
    values = model_values(view, latent, legend)
    names = {r["model"]: r["name"] for r in latent_rows(view, latent, legend)}
    scored = metric_rows(view, legend)
    rows = scored or [{"model": k, "name": names[k]} for k in view.models]
    for row in rows:
        per_model = values[row["model"]]
        row.update({k: v for k, v in per_model.items() if not k.startswith(("dice_", "hd95_"))})
        if not scored and sized_classes(view):
            row[f"{getattr(view, 'size_name', 'area')}_units"] = getattr(view, "size_units", "")
        row["latent"] = latent
        row.update({"reference": view.reference, **view.corruption.to_dict()})
    return rows


def import_settings(path: str | Path) -> tuple[ExplorerSettings, str]:
    """:func:`read_settings` for settings from elsewhere: TorchScript model YAMLs (code) are
    left out, never loaded from someone's folder; ``(settings, a note for the user or "")``."""
    from vqseg_core.modelset.foreign import code_note, split_code

    settings = read_settings(path)
    files, code = split_code(settings.model_files)
    if not code:
        return settings, ""
    return settings.with_(model_files=files), code_note(code)


def read_settings(path: str | Path) -> ExplorerSettings:
    """The explorer settings stored in an export folder (or its ``settings.json``); files
    of the previous version (a UNet / VQ-UNet pair) are read too."""
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
