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
from vqseg_core.evaluation.common import (
    LoadedCase,
    case_seed,
    load_case,
    pair_id,
    write_csv,
    write_settings,
)
from vqseg_core.evaluation.noise import (
    ROW_FIRST,
    EvalResult,
    NoiseConfig,
    _slug,
    grid_records,
    noise_grid,
    unique_cells,
)
from vqseg_core.evaluation.sharding import Cell, Shard, run_cells
from vqseg_core.evaluation.store import CellStore
from vqseg_core.perturb import Corruption
from vqseg_core.robustness import make_draws, prepare, run_draws
from vqseg_core.robustness.view import MODEL_KEYS


def latent_case(
    pair, case: LoadedCase, kind: str, level: float, config: NoiseConfig
) -> list[dict[str, Any]]:
    """Latent statistics of both networks on one case at one level (one row per network)."""
    from vqseg_core.analysis import code_flip_rate, latent_variance

    corruption = Corruption(kind, float(level), case_seed(config.seed, case.case_id))
    prepared = prepare(pair, case.array, case.spacing)
    draws = make_draws(prepared, corruption, config.n_draws)
    clean = None if corruption.is_identity else prepared.x
    rows = []
    for key in MODEL_KEYS:
        predictor = pair.predictor(key, config.device, config.precision)
        out = run_draws(predictor, draws, clean, batch_size=config.batch_size)
        if out.features is None or out.clean_features is None:
            raise ValueError(
                f"case {case.case_id}: latents are unavailable for volumes larger than the patch "
                f"size {pair.patch_size} (sliding window); crop the cases or use a 2D pair"
            )
        var = latent_variance(out.features)  # (D, *L)
        spread = float(out.clean_features.double().var(correction=0))
        row: dict[str, Any] = {
            "pair": pair.name, "pair_id": pair_id(pair), "case_id": case.case_id, "model": key,
            "kind": kind, "level": float(level), "n_draws": config.n_draws, "seed": config.seed,
            "variance": float(var.mean()),
            "relative_variance": float(var.mean()) / spread if spread > 0 else float("nan"),
            "latent_shape": list(out.features.shape[1:]),
            "channel_variance": var.flatten(1).mean(1).tolist(),
        }  # fmt: skip
        if out.quantized is not None and out.indices is not None and out.clean_indices is not None:
            q_var = latent_variance(out.quantized)
            row["quantized_variance"] = float(q_var.mean())
            row["flip_rate"] = code_flip_rate(out.indices, out.clean_indices)
            row["channel_quantized_variance"] = q_var.flatten(1).mean(1).tolist()
        rows.append(row)
    return rows


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
    files["table"].write_text("\n".join(parts), encoding="utf-8")
    for dataset, pair in dict.fromkeys((r["dataset"], r["pair"]) for r in rows):
        group = [r for r in rows if (r["dataset"], r["pair"]) == (dataset, pair)]
        for kind in kinds:
            name = f"heatmap_{_slug(dataset)}_{_slug(pair)}_{kind}"
            files[name] = latent_heatmaps(
                group, kind, out / "heatmaps" / f"{name}.png", n_features=n_features,
                title=f"{dataset} / {pair}: latent variance under {kind} noise",
            )  # fmt: skip
    return files
