"""``latent``: how far each network's bottleneck moves under noise (Table 2, Fig. 2).

For each case, pair, kind and level, N draws (seeds ``case_seed(seed, case_id) + d``, the same
for both networks and every level) are encoded in batches. Per network a row holds:

* ``variance``: mean over latent elements of the per-element population variance across
  draws of the raw features (for the VQ-UNet: before quantisation);
* ``quantized_variance``: the same for the quantised latent (VQ-UNet only);
* ``relative_variance``: ``variance`` divided by the variance of the clean image's latent
  elements (dimensionless: the two networks' feature scales differ);
* ``flip_rate``: fraction of (draw, position) pairs whose code differs from the clean code;
* ``channel_variance`` (JSONL only): per channel, the variance averaged over positions — the
  features of the Fig. 2 heatmaps.

Outputs: ``cells.jsonl``, ``latent.csv``, ``table.md`` (Table 2 and per-level tables),
``heatmaps/*.png`` and ``settings.json``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict
from pathlib import Path
from typing import Any

from vqseg_core.data.layouts import Case
from vqseg_core.engine import BOTTLENECK, LatentDraws, RunRequest, execute, has_latents
from vqseg_core.evaluation.common import LoadedCase, case_seed, load_case, write_settings
from vqseg_core.evaluation.noise import (
    ROW_FIRST,
    EvalResult,
    NoiseConfig,
    grid_records,
    noise_grid,
    unique_cells,
)
from vqseg_core.evaluation.sharding import Cell, Shard, run_cells
from vqseg_core.evaluation.store import CellStore
from vqseg_core.perturb import Corruption
from vqseg_core.reporting import slug, write_csv, write_text


def latent_case(
    models, case: LoadedCase, kind: str, level: float, config: NoiseConfig
) -> list[dict[str, Any]]:
    """Latent statistics of every model on one case at one level (one row per model).

    One engine run (draw 0 decoded, every latent encoded with the clean image). The bottleneck
    fills ``variance``, ``relative_variance``, ``quantized_variance`` and ``flip_rate``; every
    other latent (a quantised skip ``skipN``) adds the same columns suffixed ``_skipN``.
    """
    corruption = Corruption(kind, float(level), case_seed(config.seed, case.case_id))
    request = RunRequest(models, case.array, tuple(case.spacing), corruption, config.n_draws,
                         config.device, config.precision, batch_size=config.batch_size)  # fmt: skip
    run = execute(request)
    rows = []
    for key, mr in run.models.items():
        if BOTTLENECK not in mr.latents and not has_latents(mr.member.model):
            raise ValueError(
                f"model {key!r} ({mr.member.name}) has no latents: its model YAML names no "
                "bottleneck; vqseg-eval latent needs one (noise and shift score masks without)"
            )
        if BOTTLENECK not in mr.latents:
            raise ValueError(
                f"case {case.case_id}: latents are unavailable for volumes larger than the patch "
                f"size {mr.member.patch_size} (sliding window) or run slice by slice; crop the "
                "cases or use a 2D model set"
            )
        row: dict[str, Any] = {
            "pair": models.name, "pair_id": models.id, "case_id": case.case_id, "model": key,
            "kind": kind, "level": float(level), "n_draws": config.n_draws, "seed": config.seed,
        }  # fmt: skip
        for name, lat in mr.latents.items():
            row.update(_latent_row(lat, "" if name == BOTTLENECK else f"_{name}"))
        rows.append(row)
    return rows


def _latent_row(lat: LatentDraws, suffix: str) -> dict[str, Any]:
    """Variance, relative variance (and for quantised latents: quantised variance, flip rate)."""
    from vqseg_core.analysis import code_flip_rate, latent_variance

    var = latent_variance(lat.features)  # (D, *L)
    assert lat.clean_features is not None
    spread = float(lat.clean_features.double().var(correction=0))
    row: dict[str, Any] = {
        f"variance{suffix}": float(var.mean()),
        f"relative_variance{suffix}": float(var.mean()) / spread if spread > 0 else float("nan"),
    }
    if not suffix:
        row["latent_shape"] = list(lat.features.shape[1:])
        row["channel_variance"] = var.flatten(1).mean(1).tolist()
    if lat.quantized is not None and lat.indices is not None and lat.clean_indices is not None:
        q_var = latent_variance(lat.quantized)
        row[f"quantized_variance{suffix}"] = float(q_var.mean())
        row[f"flip_rate{suffix}"] = code_flip_rate(lat.indices, lat.clean_indices)
        if not suffix:
            row["channel_quantized_variance"] = q_var.flatten(1).mean(1).tolist()
    return row


def run_latent(
    pairs: Sequence[Any],
    dataset: str,
    cases: Sequence[Case],
    out: str | Path,
    config: NoiseConfig | None = None,
    shard: Shard | None = None,
    *,
    n_features: int = 64,
) -> EvalResult:
    """Latent variance and code-flip rate of every pair on ``cases``; write the outputs.

    Args:
        pairs, dataset, cases, out, shard: as for :func:`~vqseg_core.evaluation.noise.run_noise`.
        config: kinds, levels, draws (at least 2), seed, device.
        n_features: latent channels shown in the heatmaps.
    """
    config = config or NoiseConfig()
    if config.n_draws < 2:
        raise ValueError(f"latent variance needs at least 2 draws, got {config.n_draws}")
    config.validate({p.spatial_dims for p in pairs})
    shard = shard or Shard()
    out = Path(out)
    store = CellStore(out / "cells.jsonl")
    grid = noise_grid(pairs, dataset, cases, config, command="latent")
    cells = unique_cells(grid)

    def compute(cell: Cell) -> list[dict[str, Any]]:
        pair, case, kind, level = cell.params
        return [
            {"dataset": dataset, **r}
            for r in latent_case(pair, load_case(case), kind, level, config)
        ]

    computed = run_cells(cells, compute, store, shard, progress=config.progress, desc="latent")
    result = EvalResult([], computed=computed, total=len(cells))
    if not shard.is_main:
        return result
    result.rows = grid_records(CellStore(out / "cells.jsonl"), grid)
    result.files = write_latent_outputs(result.rows, out, config.kinds, n_features)
    settings = {**asdict(config), "dataset": dataset, "cases": [c.case_id for c in cases]}
    result.files["settings"] = write_settings(out, "latent", settings, pairs)
    return result


def write_latent_outputs(
    rows: list[dict[str, Any]], out: Path, kinds: Sequence[str], n_features: int = 64
) -> dict[str, Path]:
    """``latent.csv``, ``table.md`` and the heatmaps of latent rows."""
    from vqseg_core.evaluation.plots import latent_heatmaps
    from vqseg_core.evaluation.tables import latent_level_table, latent_table

    files: dict[str, Path] = {"csv": write_csv(out / "latent.csv", rows, ROW_FIRST)}
    parts = ["## Latent-space robustness", "", latent_table(rows)]
    parts += [latent_level_table(rows, kind) for kind in kinds]
    files["table"] = out / "table.md"
    write_text(files["table"], "\n".join(parts))
    for dataset, pair in dict.fromkeys((r["dataset"], r["pair"]) for r in rows):
        group = [r for r in rows if (r["dataset"], r["pair"]) == (dataset, pair)]
        for kind in kinds:
            name = f"heatmap_{slug(dataset)}_{slug(pair)}_{kind}"
            files[name] = latent_heatmaps(
                group, kind, out / "heatmaps" / f"{name}.png", n_features=n_features,
                title=f"{dataset} / {pair}: latent variance under {kind} noise",
            )  # fmt: skip
    return files
