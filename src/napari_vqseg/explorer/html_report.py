"""``report.html``: the explorer's export as one self-contained page (no Qt).

Everything is inside the file (images as base64 ``data:`` URIs, no scripts, no external
styles), so it can be mailed, archived or opened offline: the title names the image, the model
set and the corruption; then the warnings about the image, the screenshot, the metrics with
their units ("n/a" where a value is undefined), the typicality reading, the sweep plots titled
with the image and the number of draws and seed, and the models' hashes and package versions.
"""

from __future__ import annotations

import base64
import datetime as _dt
import html
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vqseg_core.reporting import fmt

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1100px; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.15em; margin-top: 1.6em; }
table { border-collapse: collapse; margin: 0.5em 0; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f2f2f2; } td.text, th.text { text-align: left; }
.warn { background: #fff4e5; border-left: 4px solid #f0a020; padding: 0.5em 1em; }
.unusual { color: #c0392b; font-weight: bold; }
img { max-width: 100%; border: 1px solid #ddd; } code { font-size: 0.9em; }
.swatch { display: inline-block; width: 0.8em; height: 0.8em; margin-right: 0.3em; }
"""

#: Metric columns and their headers; ``{units}`` is the HD95 unit of the run.
_COLUMNS = {
    "dice": "Dice",
    "hd95": "HD95 ({units})",
    "agreement": "agrees with reference (Dice)",
    "clean_agreement": "agrees with its clean-image mask (Dice)",
    "latent_variance": "latent variance",
    "flip_rate": "code flips",
    "typicality_percentile": "typical (percentile)",
}


def write_html_report(
    folder: str | Path,
    doc: Mapping[str, Any],
    rows: Sequence[Mapping[str, Any]],
    files: Sequence[Path],
    *,
    view: Any | None = None,
    legend: Mapping[str, Any] | None = None,
) -> Path:
    """Write ``folder/report.html`` and return its path.

    Args:
        folder: the export folder.
        doc: the ``settings.json`` document (settings, models, corruption, seed, packages;
            ``image`` and ``warnings`` when the explorer gave them).
        rows: the ``metrics.csv`` rows.
        files: the files written so far (the screenshot and sweep plots are embedded).
        view: the run's :class:`~vqseg_core.robustness.RobustnessView` (units, reference).
        legend: ``{key: MemberInfo}`` (display names and colours).
    """
    folder = Path(folder)
    units = getattr(view, "hd95_units", None) or _first(rows, "hd95_units") or "mm"
    image = doc.get("image") or {}
    image_name = image.get("layer") or "image"
    models = doc.get("models") or {}
    corruption = doc.get("corruption") or {}
    title = f"{image_name} — {models.get('name', 'no model set')} — {_corruption_text(corruption)}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>napari-vqseg report: {_e(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>napari-vqseg report: {_e(title)}</h1>",
        f"<p>Written {_e(_dt.datetime.now().astimezone().isoformat(timespec='seconds'))}; "
        f"{_e(_draws_text(doc))}; device {_e(str(doc.get('device', 'n/a')))}. "
        "One image: these numbers describe this image only, not a dataset.</p>",
    ]
    parts += _warnings(doc, units, rows)
    shot = next((f for f in files if f.name == "screenshot.png"), None)
    if shot is not None and shot.is_file():
        parts += ["<h2>Screenshot</h2>", _img(shot, f"the viewer with {image_name}")]
    parts += _metrics(rows, units, legend, view)
    sweeps = [f for f in files if f.name.startswith("sweep_") and f.suffix == ".png"]
    if sweeps:
        parts.append(f"<h2>Sweep over levels: {_e(image_name)}, {_e(_draws_text(doc))}</h2>")
        parts += [_img(f, f.stem) for f in sweeps]
    parts += _models(models)
    parts += _packages(doc.get("packages") or {})
    parts.append("</body></html>")
    path = folder / "report.html"
    path.write_text("\n".join(parts), encoding="utf-8")
    return path


def _e(text: Any) -> str:
    return html.escape(str(text), quote=True)


def _first(rows: Sequence[Mapping[str, Any]], key: str) -> Any:
    return next((r[key] for r in rows if r.get(key)), None)


def _corruption_text(corruption: Mapping[str, Any]) -> str:
    if not corruption:
        return "no corruption"
    return f"{corruption.get('kind', '?')} at {corruption.get('level', '?')}"


def _draws_text(doc: Mapping[str, Any]) -> str:
    n = doc.get("n_draws")
    seed = doc.get("seed")
    draws = "1 draw" if n == 1 else f"{n} draws"
    return f"{draws}, seed {seed}" if n is not None else f"seed {seed}"


def _cell(value: Any, digits: int = 3) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)) or value == "":
        return '<td title="undefined for this run">n/a</td>'
    if isinstance(value, float):
        return f"<td>{_e(fmt(value, digits))}</td>"
    return f'<td class="text">{_e(value)}</td>'


def _warnings(doc: Mapping[str, Any], units: str, rows: Sequence[Mapping[str, Any]]) -> list[str]:
    notes = [str(n) for n in doc.get("warnings") or []]
    if units == "px":
        what = [w for w, there in (("HD95", any("hd95" in r for r in rows)),
                                   ("areas", any(r.get("area_units") == "px" for r in rows)),
                                   ("volumes", any(r.get("volume_units") == "voxels" for r in rows)))
                if there] or ["HD95"]  # fmt: skip
        shown = " and ".join(what)
        notes.append(f"The image file gave no pixel spacing: {shown} {'is' if shown == 'HD95' else 'are'} "
                     "in pixels, not millimetres.")  # fmt: skip
    if not notes:
        return []
    items = "".join(f"<li>{_e(n)}</li>" for n in notes)
    return ["<h2>Warnings</h2>", f'<div class="warn"><ul>{items}</ul></div>']


def _img(path: Path, alt: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<p><img alt="{_e(alt)}" src="data:image/png;base64,{data}"></p>'


def _metrics(
    rows: Sequence[Mapping[str, Any]],
    units: str,
    legend: Mapping[str, Any] | None,
    view: Any | None,
) -> list[str]:
    if not rows:
        return ["<h2>Metrics</h2>", "<p>No run yet: nothing to report.</p>"]
    headers = {c: _COLUMNS[c].format(units=units) for c in _COLUMNS if any(c in r for r in rows)}
    headers.update(_size_headers(rows))
    columns = list(headers)
    has_class = any("class" in r for r in rows)
    head = '<th class="text">model</th>' + ('<th class="text">class</th>' if has_class else "")
    head += "".join(f"<th>{_e(h)}</th>" for h in headers.values())
    body = []
    sizes = _size_headers(rows)
    for r in rows:
        colour = getattr((legend or {}).get(r.get("model")), "colour", None) or "#888"
        name = r.get("name") or r.get("model")
        cells = (
            f'<td class="text"><span class="swatch" style="background:{_e(colour)}"></span>'
            f"{_e(name)}</td>"
        )
        if has_class:
            cells += f'<td class="text">{_e(r.get("class", ""))}</td>'
        for c in columns:
            cell = _cell(r.get(c), _digits(c, sizes))
            if c == "typicality_percentile" and str(r.get("typicality_reading", "")).startswith(
                "unusual"
            ):
                cell = cell.replace("<td>", '<td class="unusual">', 1)
            cells += cell
        body.append(f"<tr>{cells}</tr>")
    reference = getattr(view, "reference", None) or _first(rows, "reference")
    reference = getattr((legend or {}).get(reference), "name", None) or reference
    notes = []
    if any("dice" in r for r in rows):
        notes.append("Dice and HD95 against the ground truth, draw 0.")
    if any("agreement" in r for r in rows):
        notes.append(
            f"No ground truth: agreement is the Dice of each mask against {reference}'s"
            "; the clean-image agreement is the Dice of each model's mask against its "
            "own mask of the uncorrupted image (mean over classes, 1 = unchanged)."
        )
    readings = {r.get("name") or r.get("model"): r.get("typicality_reading") for r in rows}
    readings = {k: v for k, v in readings.items() if v}
    notes += [f"{k}: {v}" for k, v in readings.items()]
    return [
        "<h2>Metrics</h2>",
        f"<table><tr>{head}</tr>{''.join(body)}</table>",
        *(f"<p>{_e(n)}</p>" for n in notes),
    ]


def _digits(column: str, sizes: Mapping[str, str]) -> int:
    """Decimals of a metric column: pixel counts whole, mm² and HD95 to 0.1, variances to 1e-4."""
    if column in sizes:
        return 0 if sizes[column].endswith(("(px)", "(voxels)")) else 1
    return {"hd95": 1, "typicality_percentile": 0, "latent_variance": 4}.get(column, 3)


def _size_headers(rows: Sequence[Mapping[str, Any]]) -> dict[str, str]:
    """Class-size columns (``area_<class>`` / ``volume_<class>``) and their headers with units."""
    out: dict[str, str] = {}
    for r in rows:
        for what in ("area", "volume"):
            units = r.get(f"{what}_units")
            for k in r:
                if k.startswith(f"{what}_") and k != f"{what}_units" and k not in out:
                    out[k] = f"{k[len(what) + 1 :]} {what} ({units or '?'})"
    return out


def _models(models: Mapping[str, Any]) -> list[str]:
    members = models.get("models") or []
    if not members:
        return []
    rows = "".join(
        f'<tr><td class="text">{_e(m.get("key"))}</td><td class="text">{_e(m.get("name"))}</td>'
        f'<td class="text">{_e(m.get("kind"))}</td>'
        f'<td class="text"><code>{_e(m.get("sha256") or "in memory")}</code></td>'
        f'<td class="text">{_e(", ".join(f"{k} {v}" for k, v in (m.get("classes") or {}).items()))}</td></tr>'
        for m in members
    )
    head = "".join(
        f'<th class="text">{h}</th>' for h in ("key", "name", "kind", "weights sha256", "classes")
    )
    return [
        f"<h2>Models: {_e(models.get('name', ''))} <code>{_e(models.get('id', ''))}</code></h2>",
        f"<table><tr>{head}</tr>{rows}</table>",
    ]


def _packages(packages: Mapping[str, Any]) -> list[str]:
    if not packages:
        return []
    rows = "".join(
        f'<tr><td class="text">{_e(k)}</td><td class="text">{_e(v)}</td></tr>'
        for k, v in packages.items()
    )
    return ["<h2>Versions</h2>", f"<table>{rows}</table>"]
