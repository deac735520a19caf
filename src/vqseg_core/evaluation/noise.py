"""``noise``: Dice and HD95 of both networks under kinds x levels x N draws (Table 3, Dice plots).

Outputs in ``out``: ``cells.jsonl`` (resumable, one line per finished case x pair x kind x
level), ``cases.csv`` (one row per case x model x kind x level, draws aggregated),
``table.md`` (Table 3 layout, Dice and HD95 per kind), ``plots/*.png`` (Dice vs level) and
``settings.json``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from vqseg_core.data.layouts import Case
from vqseg_core.evaluation.common import load_case, pair_id, write_settings
from vqseg_core.evaluation.segmentation import score_case_draws
from vqseg_core.evaluation.sharding import Cell, Shard, run_cells
from vqseg_core.evaluation.store import CellStore, cell_key
from vqseg_core.perturb import PAPER_KINDS, Corruption, get_spec
from vqseg_core.reporting import slug, write_csv, write_text
from vqseg_core.robustness import PAPER_LEVELS

ROW_FIRST = ("dataset", "pair", "pair_id", "case_id", "model", "kind", "level", "n_draws", "seed")


@dataclass(frozen=True)
class NoiseConfig:
    """Settings of a noise evaluation.

    Attributes:
        kinds: corruption kinds (default: the paper's three).
        levels: levels in each kind's units (default: the poster's 0, 1, 10, 20, 30 %).
        n_draws: corrupted draws per case and level.
        seed: base seed; draw d of a case uses ``case_seed(seed, case_id) + d``.
        device, precision: see :class:`~vqseg_core.inference.Predictor`.
        batch_size: draws per forward pass.
        progress: show tqdm bars.
        label_map: ``((mask value, class), ...)``: how to read the ground truth's values
            (e.g. ``((255, 1),)`` for 0/255 masks); empty: values the models do not know are
            refused, naming the file.
    """

    kinds: tuple[str, ...] = PAPER_KINDS
    levels: tuple[float, ...] = PAPER_LEVELS
    n_draws: int = 10
    seed: int = 0
    device: str = "auto"
    precision: str = "auto"
    batch_size: int = 8
    progress: bool = True
    label_map: tuple[tuple[int, int], ...] = ()

    def validate(self, spatial_dims: Iterable[int] = ()) -> None:
        """Raise ``ValueError`` for an unknown kind, a level out of range or a bad count."""
        if self.n_draws < 1:
            raise ValueError(f"the number of draws must be >= 1, got {self.n_draws}")
        if not self.kinds or not self.levels:
            raise ValueError("give at least one kind and one level")
        for kind in self.kinds:
            for level in self.levels:
                Corruption(kind, float(level), self.seed)
            for dims in spatial_dims:
                if dims not in get_spec(kind).spatial_dims:
                    raise ValueError(f"corruption {kind!r} does not support {dims}D images")


@dataclass
class EvalResult:
    """What an evaluation command produced.

    Attributes:
        rows: the per-case rows (JSON-able dicts).
        files: output name -> path (``csv``, ``table``, ``settings``, plots...).
        computed: cells computed in this call (0 when everything was already there).
        total: cells in the run.
    """

    rows: list[dict[str, Any]]
    files: dict[str, Path] = field(default_factory=dict)
    computed: int = 0
    total: int = 0


CLEAN = "clean"  # the ``kind`` in the key of the shared identity (clean) cell


def noise_grid(
    pairs: Sequence[Any],
    dataset: str,
    cases: Sequence[Case],
    config: NoiseConfig,
    command: str = "noise",
) -> list[tuple[Cell, str, float]]:
    """Every (case, pair, kind, level) of ``command`` in table order, with the cell holding it.

    Returns ``(cell, kind, level)`` triples. A kind's identity level (0 for most kinds: the
    clean image) gives the same result for every kind, so all kinds' identity entries of a
    case and pair share one cell, computed once: its key has ``kind="clean"`` and no level,
    and its params carry the first such kind and level (whose rows are relabelled per kind
    by :func:`grid_records`).
    """
    grid = []
    for case in cases:
        for pair in pairs:
            base = {
                "command": command, "dataset": dataset, "pair": pair_id(pair),
                "case": case.case_id, "n_draws": config.n_draws, "seed": config.seed,
            }  # fmt: skip
            if config.label_map:  # only then: cells of earlier runs keep their keys
                base["label_map"] = [list(p) for p in config.label_map]
            clean: Cell | None = None
            for kind in config.kinds:
                for level in map(float, config.levels):
                    if level == get_spec(kind).identity:
                        if clean is None:
                            key = cell_key({**base, "kind": CLEAN})
                            clean = Cell(key, case.case_id, (pair, case, kind, level))
                        grid.append((clean, kind, level))
                        continue
                    key = cell_key({**base, "kind": kind, "level": level})
                    grid.append((Cell(key, case.case_id, (pair, case, kind, level)), kind, level))
    return grid


def noise_cells(
    pairs: Sequence[Any],
    dataset: str,
    cases: Sequence[Case],
    config: NoiseConfig,
    command: str = "noise",
) -> list[Cell]:
    """The distinct cells of :func:`noise_grid` (the clean cell once per case and pair)."""
    return unique_cells(noise_grid(pairs, dataset, cases, config, command))


def unique_cells(grid: Sequence[tuple[Cell, str, float]]) -> list[Cell]:
    """The cells of a grid, each once, in order of first appearance."""
    return list({cell.key: cell for cell, _, _ in grid}.values())


def grid_records(store: CellStore, grid: Sequence[tuple[Cell, str, float]]) -> list[dict[str, Any]]:
    """The stored rows of ``grid`` in its order; a shared clean cell's rows once per kind,
    with that kind and its identity level."""
    return [
        {**r, "kind": kind, "level": level} for cell, kind, level in grid
        for r in store.records([cell.key])
    ]  # fmt: skip


def run_noise(
    pairs: Sequence[Any],
    dataset: str,
    cases: Sequence[Case],
    out: str | Path,
    config: NoiseConfig = NoiseConfig(),
    shard: Shard | None = None,
) -> EvalResult:
    """Evaluate every pair on ``cases`` under ``config``'s corruptions; write the outputs.

    Args:
        pairs: :class:`~vqseg_core.pretrained.ModelPair` objects.
        dataset: the dataset's name (a column of the rows and the tables).
        cases: the cases (with labels).
        out: output folder; cells already in its ``cells.jsonl`` are not recomputed.
        config: kinds, levels, draws, seed, device.
        shard: the process's place under ``torchrun`` (cases are split between ranks; only
            rank 0 writes, and only rank 0's result holds the rows).

    Returns:
        :class:`EvalResult`.
    """
    config.validate({p.spatial_dims for p in pairs})
    shard = shard or Shard()
    out = Path(out)
    store = CellStore(out / "cells.jsonl")
    grid = noise_grid(pairs, dataset, cases, config)
    cells = unique_cells(grid)

    def compute(cell: Cell) -> list[dict[str, Any]]:
        pair, case, kind, level = cell.params
        rows = score_case_draws(
            pair, load_case(case), kind, level, n_draws=config.n_draws, seed=config.seed,
            device=config.device, precision=config.precision, batch_size=config.batch_size,
            label_map=dict(config.label_map) or None,
        )  # fmt: skip
        return [{"dataset": dataset, **r} for r in rows]

    computed = run_cells(cells, compute, store, shard, progress=config.progress, desc="noise")
    result = EvalResult([], computed=computed, total=len(cells))
    if not shard.is_main:
        return result
    result.rows = grid_records(CellStore(out / "cells.jsonl"), grid)
    result.files = write_noise_outputs(result.rows, out, config.kinds)
    settings = {**asdict(config), "dataset": dataset, "cases": [c.case_id for c in cases]}
    result.files["settings"] = write_settings(out, "noise", settings, pairs)
    return result


def write_noise_outputs(
    rows: list[dict[str, Any]], out: Path, kinds: Sequence[str]
) -> dict[str, Path]:
    """``cases.csv``, ``table.md`` and the Dice-vs-level plots of noise rows."""
    from vqseg_core.evaluation.plots import metric_vs_level
    from vqseg_core.evaluation.tables import noise_table

    files: dict[str, Path] = {"csv": write_csv(out / "cases.csv", rows, ROW_FIRST)}
    parts = ["## Noise robustness", ""]
    for kind in kinds:
        parts += [noise_table(rows, kind, "dice_mean"), noise_table(rows, kind, "hd95_mean")]
    files["table"] = out / "table.md"
    write_text(files["table"], "\n".join(parts))
    for dataset, pair in dict.fromkeys((r["dataset"], r["pair"]) for r in rows):
        group = [r for r in rows if (r["dataset"], r["pair"]) == (dataset, pair)]
        for kind in kinds:
            name = f"dice_{slug(dataset)}_{slug(pair)}_{kind}"
            files[name] = metric_vs_level(
                group,
                kind,
                out / "plots" / f"{name}.png",
                title=f"{dataset} / {pair}: Dice vs {kind} level",
            )
    return files
