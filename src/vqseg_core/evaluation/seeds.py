"""Across training seeds: the same study repeated for networks trained with different seeds.

One ``vqseg-eval noise`` (or ``latent``) output folder per (variant, seed) pair run; each row
of its CSV is one case. This module reduces every run to one number per network, kind and
level (the mean over cases), then reports the mean and standard deviation *across seeds* and
the paired difference to the UNet of the same seed — the spread a reader needs before
believing a difference between two single trained networks.

A run is named by ``(variant, seed)``: ``variant`` labels the VQ side of the pair (e.g.
``"vqunet"`` or ``"vqpe"``); the UNet rows of every variant's run with the same seed are the
same network and are taken once.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

UNET = "unet"


@dataclass(frozen=True)
class Run:
    """One evaluation output folder: ``variant`` (label of its VQ network), ``seed``, ``folder``."""

    variant: str
    seed: int
    folder: Path

    @classmethod
    def parse(cls, spec: str) -> Run:
        """``VARIANT:SEED:FOLDER`` (the command-line form)."""
        try:
            variant, seed, folder = spec.split(":", 2)
            return cls(variant, int(seed), Path(folder))
        except ValueError as exc:
            raise ValueError(f"expected VARIANT:SEED:FOLDER, got {spec!r}") from exc


@dataclass(frozen=True)
class SeedStat:
    """Mean and sample sd over seeds of per-seed values (``n`` seeds)."""

    mean: float
    sd: float
    n: int
    values: tuple[float, ...]

    @classmethod
    def of(cls, values: Iterable[float]) -> SeedStat:
        v = tuple(float(x) for x in values if np.isfinite(x))
        if not v:
            return cls(float("nan"), float("nan"), 0, ())
        sd = float(np.std(v, ddof=1)) if len(v) > 1 else float("nan")
        return cls(float(np.mean(v)), sd, len(v), v)

    def cell(self, digits: int = 3) -> str:
        """``mean +- sd (n=..)`` for Markdown."""
        if self.n == 0:
            return "-"
        sd = "" if self.n < 2 else f" ± {self.sd:.{digits}f}"
        return f"{self.mean:.{digits}f}{sd}"


def read_rows(folder: Path, filename: str) -> list[dict[str, str]]:
    """The CSV rows of one evaluation output (``cases.csv`` for noise, ``latent.csv``)."""
    path = Path(folder) / filename
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no such evaluation output")
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def per_seed_means(
    runs: Sequence[Run], filename: str, metric: str
) -> dict[tuple[str, str, float], dict[int, float]]:
    """``{(network, kind, level): {seed: mean of metric over cases}}``.

    Shift outputs (``shift.csv``) have a ``role`` instead: it takes the place of the kind, at
    level 0.

    ``network`` is ``"unet"`` or the run's variant (its VQ side). Blank cells (metrics that do
    not apply, e.g. code flips of a UNet) and NaN are left out of the case mean.
    """
    values: dict[tuple[str, str, float, int], list[float]] = defaultdict(list)
    seen_unet: set[tuple[int, str]] = set()
    for run in runs:
        rows = read_rows(run.folder, filename)
        take_unet = (run.seed, filename) not in seen_unet
        seen_unet.add((run.seed, filename))
        for row in rows:
            if row["model"] == UNET and not take_unet:
                continue
            network = UNET if row["model"] == UNET else run.variant
            raw = row.get(metric, "")
            if raw in ("", None):
                continue
            value = float(raw)
            if np.isfinite(value):
                kind, level = _kind_level(row)
                values[(network, kind, level, run.seed)].append(value)
    out: dict[tuple[str, str, float], dict[int, float]] = defaultdict(dict)
    for (network, kind, level, seed), vals in values.items():
        out[(network, kind, level)][seed] = float(np.mean(vals))
    return dict(out)


def _kind_level(row: dict[str, str]) -> tuple[str, float]:
    """``(kind, level)`` of a noise/latent row; a shift row's role (in-domain, shifted) at 0."""
    if "kind" in row:
        return row["kind"], float(row["level"])
    return row["role"], 0.0


def across_seeds(
    means: dict[tuple[str, str, float], dict[int, float]],
) -> dict[tuple[str, str, float], SeedStat]:
    """Mean and sd over seeds of each ``(network, kind, level)``."""
    return {key: SeedStat.of(by_seed.values()) for key, by_seed in means.items()}


def paired_differences(
    means: dict[tuple[str, str, float], dict[int, float]], network: str
) -> dict[tuple[str, float], SeedStat]:
    """``network - unet`` per seed (same seed on both sides), then mean and sd over seeds."""
    out = {}
    for (net, kind, level), by_seed in means.items():
        if net != network:
            continue
        unet = means.get((UNET, kind, level), {})
        common = sorted(set(by_seed) & set(unet))
        out[(kind, level)] = SeedStat.of(by_seed[s] - unet[s] for s in common)
    return out


def networks(means: dict[tuple[str, str, float], dict[int, float]]) -> list[str]:
    """The networks present, UNet first."""
    names = sorted({k[0] for k in means} - {UNET})
    return ([UNET] if any(k[0] == UNET for k in means) else []) + names


def seed_table(
    means: dict[tuple[str, str, float], dict[int, float]],
    kind: str,
    labels: dict[str, str],
    digits: int = 3,
) -> str:
    """A Markdown table for one kind: a row per level; each network's mean ± sd over seeds,
    then each VQ variant's paired difference to the UNet and in how many seeds it is > 0."""
    nets = networks(means)
    stats = across_seeds(means)
    diffs = {n: paired_differences(means, n) for n in nets if n != UNET}
    levels = sorted({k[2] for k in means if k[1] == kind})
    header = ["level"] + [labels.get(n, n) for n in nets]
    header += [f"{labels.get(n, n)} − UNet (seeds > 0)" for n in diffs]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for level in levels:
        cells = [f"{level:g}"]
        cells += [stats.get((n, kind, level), SeedStat.of([])).cell(digits) for n in nets]
        for d in diffs.values():
            s = d.get((kind, level), SeedStat.of([]))
            wins = sum(v > 0 for v in s.values)
            sign = "+" if s.n and s.mean >= 0 else ""
            cells.append(f"{sign}{s.cell(digits)} ({wins}/{s.n})" if s.n else "-")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def seed_plot(
    means: dict[tuple[str, str, float], dict[int, float]],
    kind: str,
    labels: dict[str, str],
    path: Path,
    ylabel: str,
) -> Path:
    """Mean over seeds vs level per network, each seed's curve drawn thin beside it."""
    from vqseg_core.evaluation.plots import _pyplot, save_line_plot

    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(5, 3.5), dpi=100)
    colours = ["tab:orange", "tab:blue", "tab:green", "tab:red", "tab:purple"]
    for colour, net in zip(colours, networks(means), strict=False):
        keys = sorted((k for k in means if k[0] == net and k[1] == kind), key=lambda k: k[2])
        levels = [k[2] for k in keys]
        seeds = sorted({s for k in keys for s in means[k]})
        for seed in seeds:
            ax.plot(
                levels,
                [means[k].get(seed, np.nan) for k in keys],
                "-",
                color=colour,
                alpha=0.35,
                linewidth=0.8,
            )
        mean = [SeedStat.of(means[k].values()).mean for k in keys]
        ax.plot(
            levels, mean, "o-", color=colour, label=f"{labels.get(net, net)} ({len(seeds)} seeds)"
        )
    ax.set_xlabel(f"{kind} level (%)")
    ax.set_ylabel(ylabel)
    ax.set_title(f"{kind}: mean over seeds (thin: each seed)", fontsize=9)
    return save_line_plot(plt, fig, ax, path)


def write_seed_csv(
    means: dict[tuple[str, str, float], dict[int, float]], metric: str, path: Path
) -> Path:
    """One row per network, kind, level and seed: the case mean of ``metric``."""
    from vqseg_core.reporting import write_text

    buffer = io.StringIO(newline="")
    w = csv.writer(buffer)
    w.writerow(["network", "kind", "level", "seed", metric])
    for (net, kind, level), by_seed in sorted(means.items()):
        for seed, value in sorted(by_seed.items()):
            w.writerow([net, kind, level, seed, f"{value:.6g}"])
    return write_text(path, buffer.getvalue())


NOISE_METRICS = {
    "dice_mean": "Dice (mean of classes)",
    "dice_lungs": "Dice lungs",
    "dice_heart": "Dice heart",
    "hd95_mean": "HD95 (mean of classes)",
}
LATENT_METRICS = {"relative_variance": "relative latent variance", "flip_rate": "code-flip rate"}


def summarise_seeds(
    noise_runs: Sequence[Run],
    latent_runs: Sequence[Run],
    out: Path,
    labels: dict[str, str] | None = None,
    shift_runs: Sequence[Run] = (),
) -> Path:
    """Write ``out/seeds.md`` (tables per metric and kind), ``seeds_*.csv`` and PNG plots.

    Metrics absent from the CSVs (e.g. ``dice_heart`` for a brain study) are skipped.
    """
    labels = {UNET: "UNet", **(labels or {})}
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    sections = ["# Across training seeds", ""]
    for runs, filename, metrics in (
        (noise_runs, "cases.csv", NOISE_METRICS),
        (latent_runs, "latent.csv", LATENT_METRICS),
        (shift_runs, "shift.csv", NOISE_METRICS),
    ):
        if not runs:
            continue
        header = read_rows(runs[0].folder, filename)[0].keys()
        seeds = sorted({r.seed for r in runs})
        sections += [f"Source: `{filename}` of {len(runs)} runs, seeds {seeds}.", ""]
        for metric, title in metrics.items():
            if metric not in header:
                continue
            means = per_seed_means(runs, filename, metric)
            if not means:
                continue
            stem = filename.split(".")[0]
            write_seed_csv(means, metric, out / f"seeds_{stem}_{metric}.csv")
            for kind in sorted({k[1] for k in means}):
                sections += [f"## {title}, {kind}", "", seed_table(means, kind, labels), ""]
                if metric in ("dice_mean", "relative_variance") and filename != "shift.csv":
                    png = seed_plot(means, kind, labels, out / f"seeds_{metric}_{kind}.png", title)
                    sections += [f"![{title} vs {kind} level]({png.name})", ""]
    sections += [
        "Each cell: mean ± sd over seeds of the per-seed mean over cases. Differences are paired",
        "by seed (the VQ network minus the UNet trained with the same seed); `(k/n)`: in k of n",
        "seeds the difference is positive. With three seeds, treat these as a spread, not a test.",
    ]
    path = out / "seeds.md"
    from vqseg_core.reporting import write_text

    return write_text(path, "\n".join(sections) + "\n")
