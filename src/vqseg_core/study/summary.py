"""The study's tables and figures, from the per-run evaluations (:mod:`.evaluate`).

Writes into ``<out>/summary/`` (and copies to ``copy_to``):

* ``README.md``: regime, seeds, machine; the headline table (per arm, the headline class's
  Dice at every kind and level: mean over seeds and cases with its crossed-bootstrap interval,
  the difference to the reference arm with its interval and the number of seeds in which it
  is positive); the domain-shift table per source hospital and pooled; codebook usage per arm;
  the validation curve (plateau); HD95 and the other classes alongside.
* ``cases_noise.csv.gz`` and ``cases_shift.csv.gz``: every per-case, per-seed score.
* ``dice_<class>_<kind>.png``: Dice vs level per arm, with the interval as a band.
"""

from __future__ import annotations

import gzip
import io
import json
import platform
from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.reporting import fmt, write_csv
from vqseg_core.study.spec import StudySpec
from vqseg_core.study.stats import MIN_SEEDS, SeedCaseStat, crossed_bootstrap

__all__ = ["load_results", "write_summary"]

NOISE_COLUMNS = ("arm", "seed", "case_id", "kind", "level")
SHIFT_COLUMNS = ("arm", "seed", "dataset", "domain", "case_id")


def load_results(
    spec: StudySpec, out: Path
) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """``(noise rows, shift rows, codebook records, probe rows)`` of every evaluated run."""
    from vqseg_core.evaluation.store import CellStore

    noise, shift, usage, probes = [], [], [], []
    for run in spec.runs(out):
        folder = Path(out) / "eval" / run.name
        if (folder / "noise_rows.json").exists():
            noise += json.loads((folder / "noise_rows.json").read_text(encoding="utf-8"))
        if (folder / "shift.jsonl").exists():
            shift += CellStore(folder / "shift.jsonl").records()
        if (folder / "codebook.json").exists():
            usage.append(json.loads((folder / "codebook.json").read_text(encoding="utf-8")))
        if (folder / "probes.json").exists():
            probes += json.loads((folder / "probes.json").read_text(encoding="utf-8"))
    return noise, shift, usage, probes


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
            stat = _stat(cond, arm.name, metric, seeds) if cond else None
            cells.append(_cell(stat) if stat else "-")
        for lv in certified_levels:
            cond = [r for r in rows if r["probe"] == "noisy" and r["kind"] == kind
                    and float(r["level"]) == lv]  # fmt: skip
            stat = _stat(cond, arm.name, "certified", seeds) if cond else None
            cells.append(_cell(stat) if stat else "-")
        lines.append(f"| {arm.label} | {len(seeds)} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


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


def _stat(rows, arm, metric, seeds):
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
                stat = _stat(cond, arm.name, metric, seeds) if seeds else None
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
            stat = _stat(groups[g], arm.name, metric, seeds) if seeds else None
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


def plateau_table(spec: StudySpec, out: Path, metric: str) -> str:
    """Validation ``metric`` Dice at every validated step, mean over the seeds trained so far."""
    curves: dict[str, dict[int, list[float]]] = defaultdict(lambda: defaultdict(list))
    for run in spec.runs(out):
        log = run.folder / "log.jsonl"
        if not run.export.exists() or not log.exists():
            continue
        for line in log.read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            if rec.get("type") == "val" and metric in (rec.get("dice") or {}):
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


def noise_scale_section(spec: StudySpec, out: Path, noise: Sequence[dict], metric: str) -> str:
    """The reference arm's mean drop per kind and level, the level matching the poster's chest
    drop, and the figure of one held-out case at every level (written next to the README)."""
    from vqseg_core.study.noise_scale import POSTER_CHEST_DROP, matching_level, noise_scale_figure

    ref = [r for r in noise if r["arm"] == spec.reference and r.get(metric) is not None]
    if not ref:
        return ""
    lines = [f"Mean {metric.removeprefix('dice_')} Dice drop (clean minus noisy) of the "
             f"reference arm `{spec.reference}`, over seeds and cases:", "",
             "| kind | " + " | ".join(f"{lv:g} %" for lv in spec.levels)
             + f" | level where the drop reaches {POSTER_CHEST_DROP} |",
             "|---|" + "---|" * (len(spec.levels) + 1)]  # fmt: skip
    for kind in spec.kinds:
        clean = {(r["seed"], r["case_id"]): float(r[metric]) for r in ref
                 if r["kind"] == kind and float(r["level"]) == 0.0}  # fmt: skip
        drops = []
        for lv in spec.levels:
            d = [clean[(r["seed"], r["case_id"])] - float(r[metric]) for r in ref
                 if r["kind"] == kind and float(r["level"]) == lv
                 and (r["seed"], r["case_id"]) in clean and np.isfinite(float(r[metric]))]  # fmt: skip
            drops.append(float(np.mean(d)) if d else float("nan"))
        level = matching_level(spec.levels, drops, POSTER_CHEST_DROP)
        where = f"{level:.1f} %" if level is not None else f"beyond {max(spec.levels):g} %"
        lines.append(f"| {kind} | " + " | ".join(f"{d:.4f}" for d in drops) + f" | {where} |")
    lines += ["", "The poster's Table 3 prints the chest UNet's lung Dice as 0.95 at 0 % and "
              "0.95 at 30 % Gaussian noise, a drop below 0.005; the last column is where our "
              "reference arm loses that much, so the poster's 30 % is at most that level on "
              "our scale (or its noise was defined differently; see PAPER.md)."]  # fmt: skip
    run = next(
        (r for r in spec.runs(out) if r.arm.name == spec.reference and r.export.exists()), None
    )
    if run is not None:
        from vqseg_core.engine.frame import prepare
        from vqseg_core.evaluation.common import load_case
        from vqseg_core.modelset import set_from_files
        from vqseg_core.study.evaluate import heldout_cases

        models = set_from_files([run.export], name=run.name, keys=["model"])
        _, cases = heldout_cases(models, 1)
        case = load_case(cases[0])
        prepared = prepare(models.recipe, case.array, case.spacing)
        if prepared.unit.ndim == 2:
            noise_scale_figure(prepared.unit, spec.kinds, spec.levels, out / "summary" / "noise_scale.png",
                               seed=spec.noise_seed, title=f"{case.case_id}, as the models see it")  # fmt: skip
            lines += ["", "![noise scale](noise_scale.png)"]
    return "\n".join(lines) + "\n"


def _gzip_csv(
    path: Path, rows: Sequence[dict], first: Sequence[str], metrics: Sequence[str]
) -> Path:
    keep = [*first, *metrics]
    buffer = io.StringIO()
    tmp = path.with_suffix(".tmp.csv")
    write_csv(tmp, [{k: r.get(k) for k in keep} for r in rows], keep)
    buffer.write(tmp.read_text(encoding="utf-8"))
    tmp.unlink()
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        fh.write(buffer.getvalue().encode("utf-8"))
    return path


def _plots(spec: StudySpec, rows: Sequence[dict], metric: str, folder: Path) -> list[Path]:
    from vqseg_core.evaluation.plots import _pyplot, model_colour, save_line_plot

    plt = _pyplot()
    paths = []
    for kind in spec.kinds:
        fig, ax = plt.subplots(figsize=(5.5, 3.8), dpi=100)
        for i, arm in enumerate(spec.arms):
            seeds = sorted({r["seed"] for r in rows if r["arm"] == arm.name})
            if not seeds:
                continue
            stats = []
            for lv in spec.levels:
                cond = [r for r in rows if r["kind"] == kind and float(r["level"]) == lv]
                stats.append(_stat(cond, arm.name, metric, seeds))
            levels = [lv for lv, s in zip(spec.levels, stats, strict=True) if s is not None]
            stats = [s for s in stats if s is not None]
            colour = model_colour(arm.name, i)
            ax.plot(
                levels,
                [s.mean for s in stats],
                "o-",
                color=colour,
                label=f"{arm.label} ({len(seeds)} seeds)",
            )
            if all(s.has_interval for s in stats):
                ax.fill_between(levels, [s.low for s in stats], [s.high for s in stats],
                                color=colour, alpha=0.15, linewidth=0)  # fmt: skip
        ax.set_xlabel(f"{kind} level (%)")
        ax.set_ylabel(metric.replace("_", " "))
        ax.set_title(
            f"{spec.name}: {metric.replace('_', ' ')} vs {kind} (mean, 95 % interval)", fontsize=9
        )
        paths.append(save_line_plot(plt, fig, ax, folder / f"{metric}_{kind}.png"))
    return paths


def _machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import os

    return f"{cpu}, {os.cpu_count()} logical CPUs, {platform.system()} {platform.release()}"


def write_summary(spec: StudySpec, out: Path, copy_to: Path | None = None) -> Path:
    """Write the summary folder; returns its ``README.md``."""
    out = Path(out)
    folder = out / "summary"
    folder.mkdir(parents=True, exist_ok=True)
    noise, shift, usage, probes = load_results(spec, out)
    if not noise:
        raise ValueError(
            f"nothing evaluated yet under {out}/eval: run `vqseg-study evaluate` first"
        )
    classes = sorted({k[len("dice_"):] for r in noise for k in r
                      if k.startswith("dice_") and not k.startswith(("dice_sd_", "dice_mean"))})  # fmt: skip
    head = spec.headline if spec.headline in classes else classes[0]
    metric = f"dice_{head}"
    text, records = noise_table(spec, noise, metric)
    write_csv(folder / "noise_table.csv", records, ("arm", "kind", "level", "metric", "seeds"))
    parts = [
        f"# Study {spec.name}",
        "",
        f"Regime: base config `{spec.base.name}` with {' '.join(f'`{o}`' for o in spec.common if not o.startswith('data.dataset'))}.",
        f"Seeds planned: {', '.join(map(str, spec.seeds))}; evaluated runs: {len({(r['arm'], r['seed']) for r in noise})}.",
        f"Machine: {_machine()}.",
        "",
        f"Intervals: 95 % crossed bootstrap over seeds and cases ({MIN_SEEDS}+ seeds; fewer: mean only); "
        "see `vqseg_core.study.stats`. Δ: the arm minus the reference arm "
        f"(`{spec.reference}`) on the same cases and seeds.",
        "",
        f"## {head} Dice under noise (held-out cases)",
        "",
        text,
    ]
    if shift:
        shift_metric = metric if any(metric in r for r in shift) else "dice_mean"
        s_text, s_records = shift_table(spec, shift, shift_metric)
        write_csv(folder / "shift_table.csv", s_records, ("arm", "group", "metric", "seeds"))
        parts += [
            f"## {shift_metric.removeprefix('dice_')} Dice on domain-shift data (clean)",
            "",
            s_text,
        ]
    u = usage_table(spec, usage)
    if u:
        parts += ["## Codebook usage over the held-out cases (clean)", "", u]
    ns = noise_scale_section(spec, out, noise, metric)
    if ns:
        parts += ["## The noise scale", "", ns]
    pt = probes_table(spec, probes, metric)
    if pt:
        parts += [
            f"## Mechanism probes ({head} Dice on the model grid; certified: share of bottleneck "
            "positions whose noise-induced shift stays inside their flip radius)",
            "",
            pt,
        ]
    p = plateau_table(spec, out, head)
    if p:
        parts += [f"## Validation {head} Dice during training (plateau)", "", p]
    for other in [c for c in classes if c != head] + ["mean"]:
        t, _ = noise_table(spec, noise, f"dice_{other}")
        parts += [f"## {other} Dice under noise", "", t]
    t, _ = noise_table(spec, noise, f"hd95_{head}")
    parts += [f"## {head} HD95 under noise (mm where the data has a spacing, else pixels)", "", t]
    metrics = sorted({k for r in noise for k in r if k.startswith(("dice_", "hd95_"))
                      and not k.startswith(("dice_sd_", "hd95_undefined_"))})  # fmt: skip
    _gzip_csv(folder / "cases_noise.csv.gz", noise, NOISE_COLUMNS, metrics)
    if shift:
        s_metrics = sorted({k for r in shift for k in r if k.startswith(("dice_", "hd95_"))
                            and not k.startswith(("dice_sd_", "hd95_undefined_"))})  # fmt: skip
        _gzip_csv(folder / "cases_shift.csv.gz", shift, SHIFT_COLUMNS, s_metrics)
    figures = _plots(spec, noise, metric, folder)
    parts += ["## Figures", ""] + [f"![{p.stem}]({p.name})" for p in figures]
    readme = folder / "README.md"
    readme.write_text("\n".join(parts) + "\n", encoding="utf-8")
    if copy_to is not None:
        import shutil

        copy_to.mkdir(parents=True, exist_ok=True)
        for path in folder.iterdir():
            shutil.copy2(path, copy_to / path.name)
    return readme
