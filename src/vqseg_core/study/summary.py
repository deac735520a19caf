"""The study's tables and figures, from the per-run evaluations (:mod:`.evaluate`).

Writes into ``<out>/summary/`` (and copies to ``copy_to``):

* ``README.md``: regime, seeds, machine; the headline table (per arm, the headline class's
  Dice at every kind and level: mean over seeds and cases with its crossed-bootstrap interval,
  the difference to the reference arm with its interval and the number of seeds in which it
  is positive); the domain-shift table per source hospital and pooled; codebook usage per arm;
  the validation curve (plateau); HD95 and the other classes alongside.
* ``cases_noise.csv.gz`` and ``cases_shift.csv.gz``: every per-case, per-seed score.
* ``dice_<class>_<kind>.png``: Dice vs level per arm, with the interval as a band.

Runs whose folders are gone are read from their archives (:mod:`.archive`), when the study
keeps one: a summary can be rewritten on a machine that trained none of the runs.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from vqseg_core.reporting import write_csv
from vqseg_core.study.spec import StudySpec
from vqseg_core.study.stats import MIN_SEEDS
from vqseg_core.study.tables import (
    noise_table,
    plateau_table,
    probes_table,
    shift_table,
    stat_of,
    usage_table,
)

__all__ = ["load_results", "write_summary"]

NOISE_COLUMNS = ("arm", "seed", "case_id", "kind", "level")
SHIFT_COLUMNS = ("arm", "seed", "dataset", "domain", "case_id")


def load_results(
    spec: StudySpec, out: Path
) -> tuple[list[dict], list[dict], list[dict], list[dict]]:
    """``(noise rows, shift rows, codebook records, probe rows)`` of every evaluated run: from
    its archive (:mod:`.archive`) where the study keeps one, else from its evaluation folder
    under ``out``."""
    from vqseg_core.evaluation.store import CellStore
    from vqseg_core.study.archive import read_archive

    noise, shift, usage, probes = [], [], [], []
    for run in spec.runs(out):
        folder = Path(out) / "eval" / run.name
        archived = read_archive(spec, run)
        if archived is not None:
            noise += archived["noise"]
            shift += archived["shift"]
            usage.append(archived["codebook"])
            probes += archived["probes"]
            continue
        if (folder / "noise_rows.json").exists():
            noise += json.loads((folder / "noise_rows.json").read_text(encoding="utf-8"))
        if (folder / "shift.jsonl").exists():
            shift += CellStore(folder / "shift.jsonl").records()
        if (folder / "codebook.json").exists():
            usage.append(json.loads((folder / "codebook.json").read_text(encoding="utf-8")))
        if (folder / "probes.json").exists():
            probes += json.loads((folder / "probes.json").read_text(encoding="utf-8"))
    return noise, shift, usage, probes


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
              "our scale (or its noise was defined differently; see docs/definitions.md)."]  # fmt: skip
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
    """``rows`` (these columns, floats to 5 decimals) as a reproducible gzipped CSV."""
    keep = [*first, *metrics]

    def short(v: Any) -> Any:
        return round(v, 5) if isinstance(v, float) else v

    tmp = write_csv(
        path.with_suffix(".tmp.csv"), [{k: short(r.get(k)) for k in keep} for r in rows], keep
    )
    with gzip.GzipFile(path, "wb", mtime=0) as fh:
        fh.write(tmp.read_text(encoding="utf-8").encode("utf-8"))  # newlines as read: \n
    tmp.unlink()
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
                stats.append(stat_of(cond, arm.name, metric, seeds))
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


def _machines(spec: StudySpec, out: Path) -> str:
    """Where the evaluated runs ran: each machine with its count of runs (archives record
    theirs; a run known only from its folder ran here)."""
    from collections import Counter

    from vqseg_core.study.archive import machine, read_archive

    here, counts = machine(), Counter()
    for run in spec.runs(out):
        archived = read_archive(spec, run)
        if archived is not None:
            counts[archived.get("machine") or "not recorded"] += 1
        elif (Path(out) / "eval" / run.name / "noise_rows.json").exists():
            counts[here] += 1
    return "; ".join(f"{m} ({n} run{'s' if n != 1 else ''})" for m, n in counts.most_common())


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
        f"Seeds planned: {', '.join(map(str, spec.seeds))}; runs evaluated: "
        f"{len({(r['arm'], r['seed']) for r in noise})} of {len(spec.runs(out))} "
        f"({len(spec.arms)} arms x {len(spec.seeds)} seeds). **Until every run is in, this page is "
        "an interim report**: a table row holds the seeds evaluated for both that arm and the "
        "reference, and intervals appear from 3 seeds on.",
        f"Held-out cases: {len({r['case_id'] for r in noise})} of "
        f"`{', '.join(sorted({str(r.get('dataset', '')) for r in noise}))}` (the arms' own "
        "validation split, never trained on); domain shift: "
        + (", ".join(f"`{s.name}`" for s in spec.shift) or "none")
        + f". Machines (training and evaluation): {_machines(spec, out)}; float32 inference.",
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
