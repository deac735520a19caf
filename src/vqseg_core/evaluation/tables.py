"""Markdown tables laid out like the poster's Tables 2, 3 and 4.

Every mean is over distinct cases (each case's draws aggregated first); ``nan`` values (an
undefined Dice or HD95) are left out and counted, never averaged as ``inf``.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

from vqseg_core import reporting
from vqseg_core.metrics import Summary, summarize

MODEL_LABELS = {
    "unet": "UNet",
    "vqunet": "VQ-UNet",
    "vqskip": "VQ-UNet (quantised skips)",
    "unet-noise": "UNet + noise aug.",  # the bundled chest set's third and fourth models
    "vq-healthy": "VQ-UNet healthy + noise aug.",  # (their registry names)
}


def model_label(key: str) -> str:
    """The display name of a model key (the key itself for keys of the user's own)."""
    return MODEL_LABELS.get(key, key)


def _models(rows: Sequence[dict[str, Any]]) -> list[str]:
    """Model keys in order of first appearance (the set's order; the first is the reference)."""
    return list(dict.fromkeys(r["model"] for r in rows))


def bold_models(values: dict[str, dict[str, float]], lower: bool) -> set[str]:
    """The models whose cell is bold: each model significantly better than the reference (the
    first; paired over cases, :func:`paired_winner`), and the reference when it is
    significantly better than every other model. For two models: the significantly better one.
    """
    keys = list(values)
    if len(keys) < 2:
        return set()
    ref, bold, ref_wins = keys[0], set(), True
    for key in keys[1:]:
        winner = paired_winner(values[ref], values[key], lower)
        if winner == "vqunet":  # the second argument (this model) is better
            bold.add(key)
        if winner != "unet":
            ref_wins = False
    return bold | ({ref} if ref_wins else set())


def fmt(value: float, digits: int = 3) -> str:
    """A number for a table: fixed point, or scientific below 0.01; ``nan`` as an en dash."""
    return reporting.fmt(value, digits, sci_below=0.01)


def summary_cell(s: Summary, ci: bool = True) -> str:
    """``mean ± sd [ci_low, ci_high]`` (the interval is the 95% Student-t CI of the mean)."""
    if s.n == 0:
        return "–"
    text = f"{fmt(s.mean)} ± {fmt(s.sd)}" if s.n > 1 else fmt(s.mean)
    if ci and s.n > 1:
        text += f" [{fmt(s.ci_low)}, {fmt(s.ci_high)}]"
    return text


def _table(header: Sequence[str], body: Iterable[Sequence[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join(["---"] * len(header)) + "|"]
    lines += ["| " + " | ".join(row) + " |" for row in body]
    return lines


def _levels(rows: Sequence[dict[str, Any]]) -> list[float]:
    return sorted({float(r["level"]) for r in rows})


def _groups(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str]]:
    return list(dict.fromkeys((r["dataset"], r["pair"]) for r in rows))


def noise_table(rows: Sequence[dict[str, Any]], kind: str, metric: str = "dice_mean") -> str:
    """Table 3: ``metric`` (mean ± sd [95% CI] over cases) per model at each level of ``kind``.

    One section per (dataset, model set), one row per model; a cell is bold only where it is
    significantly better (:func:`bold_models`: the paired difference over cases to the
    reference model has a 95% Student-t CI that excludes 0; higher Dice, lower HD95 is better). A cell notes
    the draws with an empty prediction (``empty: n``) if any.
    """
    rows = [r for r in rows if r["kind"] == kind]
    levels = _levels(rows)
    label = (
        "Dice"
        if metric.startswith("dice")
        else "HD95 (mm; pixels for data without a spacing)"
        if metric.startswith("hd95")
        else metric
    )
    header = ["", *[f"{label} @{level:g}%" for level in levels]]
    lower_better = metric.startswith("hd95")
    body: list[list[str]] = []
    for dataset, pair in _groups(rows):
        body.append([f"**{dataset}** ({pair})", *[""] * len(levels)])
        stats: dict[str, list[tuple[Summary, int]]] = {}
        by_case: dict[str, list[dict[str, float]]] = {}
        models = _models([r for r in rows if (r["dataset"], r["pair"]) == (dataset, pair)])
        for model in models:
            stats[model], by_case[model] = [], []
            for level in levels:
                sel = [
                    r for r in rows
                    if (r["dataset"], r["pair"], r["model"]) == (dataset, pair, model)
                    and float(r["level"]) == level
                ]  # fmt: skip
                empty = sum(int(r.get("empty_any", 0)) for r in sel)
                stats[model].append((summarize(float(r[metric]) for r in sel), empty))
                by_case[model].append({r["case_id"]: float(r[metric]) for r in sel})
        winners = [
            bold_models({m: by_case[m][i] for m in models}, lower_better)
            for i in range(len(levels))
        ]
        for model in models:
            cells = []
            for i, (s, empty) in enumerate(stats[model]):
                text = summary_cell(s)
                if model in winners[i]:
                    text = f"**{text}**"
                if empty:
                    text += f" (empty: {empty})"
                cells.append(text)
            body.append([model_label(model), *cells])
    title = f"Table 3 style: {label} under {kind} noise (mean ± sd [95% CI] over cases)"
    note = (
        "Each case's value is the mean over its draws (and over classes); *empty: n* counts the "
        "draws (all cases) in which a class present in the ground truth was not predicted. "
        f"{BOLD_NOTE}"
    )
    return "\n".join([f"### {title}", "", *_table(header, body), "", note, ""])


BOLD_NOTE = (
    "Bold: the paired difference over cases to the first model (the reference, UNet for the "
    "bundled sets) has a 95% CI that excludes 0 (no bold: no significant difference)."
)


def paired_winner(unet: dict[str, float], vqunet: dict[str, float], lower: bool) -> str | None:
    """The significantly better model, paired over cases, or ``None``.

    Args:
        unet, vqunet: case id -> value of each model; cases missing in either or ``nan`` in
            either are left out.
        lower: whether lower is better (HD95).

    Returns:
        ``"vqunet"`` or ``"unet"`` when the 95% Student-t CI of the mean paired difference
        (VQ-UNet − UNet) excludes 0, else ``None`` (also with fewer than 2 paired cases).
    """
    diffs = [
        vqunet[c] - unet[c]
        for c in unet
        if c in vqunet and not (math.isnan(unet[c]) or math.isnan(vqunet[c]))
    ]
    s = summarize(diffs)
    if s.n < 2 or math.isnan(s.ci_low) or math.isnan(s.ci_high):
        return None
    if s.ci_low > 0:
        return "unet" if lower else "vqunet"
    if s.ci_high < 0:
        return "vqunet" if lower else "unet"
    return None


def latent_rows(rows: Sequence[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """``(model, field, row title)`` of the latent tables: raw variance of every model, the
    quantised variance of the quantised ones, relative variance, then code-flip rates."""
    models = _models(rows)
    has = {(r["model"], f) for r in rows for f in ("quantized_variance", "flip_rate") if f in r}
    out = []
    for m in models:
        q = (m, "quantized_variance") in has
        out.append((m, "variance", f"{model_label(m)}: latent variance (raw"
                    + (", before quantisation)" if q else ")")))  # fmt: skip
        if q:
            out.append((m, "quantized_variance", f"{model_label(m)}: latent variance (quantised)"))
    for m in models:
        out.append((m, "relative_variance", f"{model_label(m)}: relative variance"
                    + (" (raw)" if (m, "quantized_variance") in has else "")))  # fmt: skip
    out += [(m, "flip_rate", f"{model_label(m)}: code-flip rate")
            for m in models if (m, "flip_rate") in has]  # fmt: skip
    return out


def latent_table(rows: Sequence[dict[str, Any]], levels: Sequence[float] | None = None) -> str:
    """Table 2: average latent variance per model, dataset and noise kind.

    Averages over cases and over ``levels`` (default: every level that is not 0). "Raw" is the
    per-element population variance across draws of the bottleneck features; "relative"
    divides it by the variance of the clean image's latent elements (dimensionless, comparable
    between networks); the code-flip rate is the fraction of (draw, position) pairs whose code
    differs from the clean image's code.
    """
    chosen = [
        r
        for r in rows
        if (float(r["level"]) != 0 if levels is None else float(r["level"]) in levels)
    ]
    columns = list(dict.fromkeys((r["dataset"], r["kind"]) for r in chosen))
    header = ["", *[f"{d}: {k}" for d, k in columns]]
    body = []
    for model, field, name in latent_rows(chosen):
        cells = []
        for dataset, kind in columns:
            sel = [
                r[field] for r in chosen
                if (r["dataset"], r["kind"], r["model"]) == (dataset, kind, model) and field in r
            ]  # fmt: skip
            cells.append(fmt(summarize(float(v) for v in sel).mean) if sel else "–")
        body.append([name, *cells])
    lv = "levels " + ", ".join(f"{v:g}%" for v in sorted({float(r["level"]) for r in chosen}))
    title = f"Table 2 style: average latent variance (mean over cases and {lv})"
    return "\n".join([f"### {title}", "", *_table(header, body), ""])


def latent_level_table(rows: Sequence[dict[str, Any]], kind: str) -> str:
    """Latent variance and code-flip rate at each level of ``kind`` (mean over cases)."""
    rows = [r for r in rows if r["kind"] == kind]
    levels = _levels(rows)
    header = ["", *[f"@{v:g}%" for v in levels]]
    body = []
    for dataset, pair in _groups(rows):
        body.append([f"**{dataset}** ({pair})", *[""] * len(levels)])
        group = [r for r in rows if (r["dataset"], r["pair"]) == (dataset, pair)]
        for model, field, name in latent_rows(group):
            cells = []
            for level in levels:
                sel = [
                    float(r[field]) for r in rows
                    if (r["dataset"], r["pair"], r["model"]) == (dataset, pair, model)
                    and float(r["level"]) == level and field in r
                ]  # fmt: skip
                cells.append(fmt(summarize(sel).mean) if sel else "–")
            body.append([name, *cells])
    return "\n".join(
        [f"### Latent variance under {kind} noise, by level", "", *_table(header, body), ""]
    )


def shift_table(rows: Sequence[dict[str, Any]]) -> str:
    """Table 4: mean Dice and HD95 (mm) in-domain and across domains, per pair.

    Columns: the in-domain dataset, then ``A→B`` for each shifted dataset B (A the in-domain
    one), and ``A→B / D`` for each source domain D of B when B's cases name more than one
    (e.g. the hospitals of Montgomery/Shenzhen); one row per model; a value is bold only where that model is significantly
    better, i.e. the paired difference over cases has a 95% CI excluding 0
    (:func:`paired_winner`).
    """
    lines = [
        "### Table 4 style: mean Dice and HD95 in-domain and across domains",
        "",
        "HD95 in mm; in pixels for datasets without a spacing (e.g. Shenzhen, Montgomery/Shenzhen).",
        "",
    ]
    for pair in dict.fromkeys(r["pair"] for r in rows):
        sel = [r for r in rows if r["pair"] == pair]
        home = next((r["dataset"] for r in sel if r["role"] == "in-domain"), "?")
        targets = list(dict.fromkeys(r["dataset"] for r in sel if r["role"] == "shifted"))
        columns = [("in-domain", home, None, home)]
        for t in targets:
            columns.append(("shifted", t, None, f"{home}→{t}"))
            domains = sorted({r.get("domain") or "" for r in sel if r["dataset"] == t} - {""})
            if len(domains) > 1:  # per source (hospital, scanner) as well as pooled
                columns += [("shifted", t, d, f"{home}→{t} / {d}") for d in domains]
        header = ["", *[f"{title} {m}" for *_, title in columns for m in ("Dice", "HD95")]]
        stats, values = {}, {}
        models = _models(sel)
        for model in models:
            for role, dataset, domain, title in columns:
                cases = [
                    r
                    for r in sel
                    if (r["model"], r["role"], r["dataset"]) == (model, role, dataset)
                    and (domain is None or r.get("domain") == domain)
                ]
                for metric in ("dice", "hd95"):
                    col = f"{metric}_mean"
                    stats[model, title, metric] = summarize(float(r[col]) for r in cases)
                    values[model, title, metric] = {r["case_id"]: float(r[col]) for r in cases}
        body = []
        for model in models:
            cells = []
            for *_, title in columns:
                for metric in ("dice", "hd95"):
                    s = stats[model, title, metric]
                    text = fmt(s.mean, 3 if metric == "dice" else 2)
                    bold = bold_models(
                        {m: values[m, title, metric] for m in models}, metric == "hd95"
                    )
                    cells.append(f"**{text}**" if model in bold else text)
            body.append([model_label(model), *cells])
        n = {
            title: len({r["case_id"] for r in sel if r["dataset"] == dataset
                        and (domain is None or r.get("domain") == domain)})
            for _, dataset, domain, title in columns
        }  # fmt: skip
        lines += [f"**{pair}** (cases: " + ", ".join(f"{d} {k}" for d, k in n.items()) + ")", ""]
        lines += [*_table(header, body), ""]
    lines += [BOLD_NOTE, ""]
    return "\n".join(lines)
