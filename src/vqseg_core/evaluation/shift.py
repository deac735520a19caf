"""``shift``: Dice and HD95 on the clean images in-domain and across domains (Table 4).

Each pair is scored on the selected cases of its in-domain dataset (by default the
validation split, as in training) and on the cases of each shifted dataset (by default all).
Outputs: ``cells.jsonl``, ``shift.csv``, ``table.md`` and ``settings.json``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from vqseg_core.data.layouts import Case
from vqseg_core.evaluation.common import load_case, pair_id, write_settings
from vqseg_core.evaluation.noise import ROW_FIRST, EvalResult
from vqseg_core.evaluation.segmentation import score_case_draws
from vqseg_core.evaluation.sharding import Cell, Shard, run_cells
from vqseg_core.evaluation.store import CellStore, cell_key
from vqseg_core.reporting import write_csv, write_text


def run_shift(
    pairs: Sequence[Any],
    in_domain: tuple[str, Sequence[Case]],
    shifted: Mapping[str, Sequence[Case]],
    out: str | Path,
    *,
    device: str = "auto",
    precision: str = "auto",
    progress: bool = True,
    shard: Shard | None = None,
    label_map: Mapping[int, int] | None = None,
) -> EvalResult:
    """Score every pair in-domain and on each shifted dataset; write the outputs.

    Args:
        pairs: :class:`~vqseg_core.pretrained.ModelPair` objects (trained on ``in_domain``).
        in_domain: ``(dataset name, cases)``.
        shifted: dataset name -> cases.
        out: output folder (resumable).
        device, precision: see :class:`~vqseg_core.inference.Predictor`.
        progress: show a tqdm bar.
        shard: the process's place under ``torchrun``.
        label_map: ``{mask value: class}`` for ground truths with other values (e.g.
            ``{255: 1}``); ``None``: values the models do not know are refused.
    """
    shard = shard or Shard()
    out = Path(out)
    store = CellStore(out / "cells.jsonl")
    groups = [("in-domain", in_domain[0], in_domain[1])]
    groups += [("shifted", name, cases) for name, cases in shifted.items()]
    if any(name == in_domain[0] for _, name, _ in groups[1:]):
        raise ValueError("a shifted dataset has the same name as the in-domain one")
    cells = []
    for role, name, cases in groups:
        for case in cases:
            for pair in pairs:
                params = {
                    "command": "shift",
                    "dataset": name,
                    "role": role,
                    "pair": pair_id(pair),
                    "case": case.case_id,
                }
                if label_map:  # only then: cells of earlier runs keep their keys
                    params["label_map"] = sorted([int(k), int(v)] for k, v in label_map.items())
                cells.append(
                    Cell(cell_key(params), f"{name}/{case.case_id}", (pair, case, role, name))
                )

    def compute(cell: Cell) -> list[dict[str, Any]]:
        pair, case, role, name = cell.params
        rows = score_case_draws(
            pair,
            load_case(case),
            "gaussian",
            0.0,
            n_draws=1,
            seed=0,
            device=device,
            precision=precision,
            label_map=label_map,
        )
        return [{"dataset": name, "role": role, "domain": case.domain or "", **r} for r in rows]

    computed = run_cells(cells, compute, store, shard, progress=progress, desc="shift")
    result = EvalResult([], computed=computed, total=len(cells))
    if not shard.is_main:
        return result
    from vqseg_core.evaluation.tables import shift_table

    domains = {(name, c.case_id): c.domain or "" for _, name, cases in groups for c in cases}
    result.rows = [
        {**r, "domain": domains.get((r["dataset"], r["case_id"]), "")}  # also for older stores
        for r in CellStore(out / "cells.jsonl").records(c.key for c in cells)
    ]
    drop = ("kind", "level", "n_draws", "seed")
    csv_rows = [{k: v for k, v in r.items() if k not in drop} for r in result.rows]
    result.files["csv"] = write_csv(out / "shift.csv", csv_rows, ("role", "domain", *ROW_FIRST))
    result.files["table"] = out / "table.md"
    write_text(result.files["table"], "## Domain shift\n\n" + shift_table(result.rows))
    settings = {
        "in_domain": {"dataset": in_domain[0], "cases": [c.case_id for c in in_domain[1]]},
        "shifted": {k: [c.case_id for c in v] for k, v in shifted.items()},
        "device": device,
        "precision": precision,
    }
    result.files["settings"] = write_settings(out, "shift", settings, pairs)
    return result
