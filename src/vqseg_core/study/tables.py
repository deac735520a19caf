"""The study's tables: per arm, a metric over seeds and cases with its crossed-bootstrap
interval and the difference to the reference arm (noise, domain shift, probes), codebook
usage, and the validation curve. Markdown text plus CSV-ready records."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.reporting import fmt
from vqseg_core.study.spec import StudyRun, StudySpec
from vqseg_core.study.stats import SeedCaseStat, crossed_bootstrap

__all__ = ["noise_table", "plateau_table", "probes_table", "shift_table", "usage_table"]


def _table(rows: Sequence[dict], arm: str, metric: str, seeds: Sequence[int]) -> np.ndarray:
    """``(seeds, cases)`` of ``metric`` for one arm (rows already filtered to one condition)."""
    cases = sorted({r["case_id"] for r in rows})
    index = {c: i for i, c in enumerate(cases)}
    table = np.full((len(seeds), len(cases)), np.nan)
    seed_index = {s: i for i, s in enumerate(seeds)}
    for r in rows:
        if r["arm"] == arm and r["seed"] in seed_index:
            v = r.get(metric)
            table[seed_index[r["seed"]], index[r["case_id"]]] = np.nan if v is None else float(v)
    return table


def _complete_seeds(rows: Sequence[dict], arms: Sequence[str]) -> list[int]:
    """The seeds evaluated for every one of ``arms`` (a matched comparison uses only these)."""
    by_arm = defaultdict(set)
    for r in rows:
        by_arm[r["arm"]].add(r["seed"])
    sets = [by_arm[a] for a in arms]
    return sorted(set.intersection(*sets)) if sets and all(sets) else []


def _cell(stat: SeedCaseStat, signed: bool = False) -> str:
    mean = f"{stat.mean:+.3f}" if signed else f"{stat.mean:.3f}"
    if not stat.has_interval:
        return mean
    lo, hi = (f"{v:+.3f}" if signed else f"{v:.3f}" for v in (stat.low, stat.high))
    return f"{mean} [{lo}, {hi}]"


def stat_of(
    rows: Sequence[dict], arm: str, metric: str, seeds: Sequence[int]
) -> SeedCaseStat | None:
    """The crossed-bootstrap statistic of one arm over ``rows`` (``None``: no finite value)."""
    table = _table(rows, arm, metric, seeds)
    return crossed_bootstrap(table) if np.isfinite(table).any() else None


def noise_table(spec: StudySpec, rows: Sequence[dict], metric: str) -> tuple[str, list[dict]]:
    """Markdown + CSV records: per arm, kind and level, ``metric`` and its difference to the
    reference arm (both over the seeds evaluated for both)."""
    arms = [a for a in spec.arms if any(r["arm"] == a.name for r in rows)]
    ref = spec.reference
    records = []
    lines = []
    for kind in spec.kinds:
        levels = [lv for lv in spec.levels]
        lines += [f"**{kind}**", ""]
        lines.append("| arm | seeds | " + " | ".join(f"{lv:g} %" for lv in levels) + " |")
        lines.append("|---|---|" + "---|" * len(levels))
        for arm in arms:
            seeds = _complete_seeds(rows, [arm.name, ref])
            cells = []
            for lv in levels:
                cond = [r for r in rows if r["kind"] == kind and float(r["level"]) == lv]
                stat = stat_of(cond, arm.name, metric, seeds) if seeds else None
                rec: dict[str, Any] = {"arm": arm.name, "kind": kind, "level": lv,
                                       "metric": metric, "seeds": len(seeds)}  # fmt: skip
                if stat is None:
                    cells.append("-")
                    records.append(rec)
                    continue
                rec.update(mean=stat.mean, low=stat.low, high=stat.high)
                cell = _cell(stat)
                if arm.name != ref:
                    a = _table(cond, arm.name, metric, seeds)
                    b = _table(cond, ref, metric, seeds)
                    d = crossed_bootstrap(a - b)
                    rec.update(diff=d.mean, diff_low=d.low, diff_high=d.high,
                               positive_seeds=d.positive_seeds)  # fmt: skip
                    cell += (
                        f"<br>Δ {_cell(d, signed=True)} ({d.positive_seeds}/{d.n_seeds} seeds > 0)"
                    )
                cells.append(cell)
                records.append(rec)
            lines.append(f"| {arm.label} | {len(seeds)} | " + " | ".join(cells) + " |")
        lines.append("")
    return "\n".join(lines), records


def shift_table(spec: StudySpec, rows: Sequence[dict], metric: str) -> tuple[str, list[dict]]:
    """Markdown + records: per arm, ``metric`` per source domain and pooled, clean images."""
    if not rows:
        return "", []
    ref = spec.reference
    groups: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        groups[f"{r['dataset']} / {r['domain']}"].append(r)
        groups[f"{r['dataset']} / pooled"].append(r)
    names = sorted(groups, key=lambda g: (g.split(" / ")[0], g.endswith("pooled"), g))
    lines = ["| arm | seeds | " + " | ".join(f"{g} (n={len({r['case_id'] for r in groups[g]})})"
                                            for g in names) + " |"]  # fmt: skip
    lines.append("|---|---|" + "---|" * len(names))
    records = []
    for arm in spec.arms:
        if not any(r["arm"] == arm.name for r in rows):
            continue
        seeds = _complete_seeds(rows, [arm.name, ref])
        cells = []
        for g in names:
            stat = stat_of(groups[g], arm.name, metric, seeds) if seeds else None
            if stat is None:
                cells.append("-")
                continue
            cell = _cell(stat)
            rec = {"arm": arm.name, "group": g, "metric": metric, "seeds": len(seeds),
                   "mean": stat.mean, "low": stat.low, "high": stat.high}  # fmt: skip
            if arm.name != ref:
                d = crossed_bootstrap(
                    _table(groups[g], arm.name, metric, seeds)
                    - _table(groups[g], ref, metric, seeds)
                )
                cell += f"<br>Δ {_cell(d, signed=True)} ({d.positive_seeds}/{d.n_seeds} seeds > 0)"
                rec.update(diff=d.mean, diff_low=d.low, diff_high=d.high)
            cells.append(cell)
            records.append(rec)
        lines.append(f"| {arm.label} | {len(seeds)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n", records


def usage_table(spec: StudySpec, usage: Sequence[dict]) -> str:
    """Codes used over the held-out set and perplexity per arm and quantised latent."""
    by = defaultdict(list)
    for u in usage:
        for name, s in (u.get("latents") or {}).items():
            by[(u["arm"], name)].append(s)
    if not by:
        return ""
    lines = ["| arm | latent | seeds | codes used over held-out (of K): mean (min-max) | perplexity, mean (min-max) |",
             "|---|---|---|---|---|"]  # fmt: skip
    for arm in spec.arms:
        for (a, name), stats in by.items():
            if a != arm.name:
                continue
            used = [s["used"] for s in stats]
            ppl = [s["perplexity"] for s in stats]
            k = stats[0]["codebook_size"]
            lines.append(
                f"| {arm.label} | {name} | {len(stats)} | {np.mean(used):.0f} ({min(used)}-{max(used)}) of {k} "
                f"| {np.mean(ppl):.1f} ({min(ppl):.1f}-{max(ppl):.1f}) |"
            )
    return "\n".join(lines) + "\n"


def probes_table(spec: StudySpec, probes: Sequence[dict], metric: str) -> str:
    """Per arm: Dice with the bottleneck destroyed, and with noise on one path only (mean over
    seeds and cases, crossed-bootstrap interval), and the certified share of positions."""
    if not probes:
        return ""
    kind = spec.kinds[0]
    probe_levels = spec.probe_levels if spec.probe_levels is not None else spec.levels
    top = max(probe_levels)
    columns = [("clean", "", 0.0), ("bottleneck_zero", "", 0.0), ("bottleneck_mean", "", 0.0),
               ("bottleneck_swap", "", 0.0), ("noisy", kind, top), ("noisy_bottleneck", kind, top),
               ("noisy_skips", kind, top)]  # fmt: skip
    names = ["clean", "bottleneck zeroed", "bottleneck = mean", "bottleneck of another image",
             f"{kind} {top:g} % on both paths", f"{top:g} % on the bottleneck only",
             f"{top:g} % on the skips only"]  # fmt: skip
    certified_levels = [lv for lv in probe_levels if lv > 0]
    head = names + [f"certified at {lv:g} %" for lv in certified_levels]
    lines = ["| arm | seeds | " + " | ".join(head) + " |", "|---|---|" + "---|" * len(head)]
    for arm in spec.arms:
        rows = [r for r in probes if r["arm"] == arm.name]
        if not rows:
            continue
        seeds = sorted({r["seed"] for r in rows})
        cells = []
        for probe, k, lv in columns:
            cond = [r for r in rows if r["probe"] == probe and r["kind"] == k
                    and float(r["level"]) == lv]  # fmt: skip
            stat = stat_of(cond, arm.name, metric, seeds) if cond else None
            cells.append(_cell(stat) if stat else "-")
        for lv in certified_levels:
            cond = [r for r in rows if r["probe"] == "noisy" and r["kind"] == kind
                    and float(r["level"]) == lv]  # fmt: skip
            stat = stat_of(cond, arm.name, "certified", seeds) if cond else None
            cells.append(_cell(stat) if stat else "-")
        lines.append(f"| {arm.label} | {len(seeds)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _validation(spec: StudySpec, run: StudyRun) -> list[dict]:
    """The validation records of a finished run: from its archive, else from its log."""
    from vqseg_core.study.archive import read_archive, validation_records

    archived = read_archive(spec, run)
    if archived is not None:
        return list(archived["validation"])
    return validation_records(run) if run.export.exists() else []


def plateau_table(spec: StudySpec, out: Path, metric: str) -> str:
    """Validation ``metric`` Dice at every validated step, mean over the seeds trained so far."""
    curves: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in spec.runs(out):
        for rec in _validation(spec, run):
            if metric in (rec.get("dice") or {}):
                curves[run.arm.name][int(rec["step"])].append(float(rec["dice"][metric]))
    steps = sorted({s for c in curves.values() for s in c})
    if not steps:
        return ""
    lines = ["| arm | seeds | " + " | ".join(f"step {s}" for s in steps) + " |",
             "|---|---|" + "---|" * len(steps)]  # fmt: skip
    for arm in spec.arms:
        c = curves.get(arm.name)
        if not c:
            continue
        n = max(len(v) for v in c.values())
        lines.append(f"| {arm.label} | {n} | " + " | ".join(
            fmt(float(np.mean(c[s]))) if s in c else "" for s in steps) + " |")  # fmt: skip
    return "\n".join(lines) + "\n"
