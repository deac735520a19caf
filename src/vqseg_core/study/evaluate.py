"""Per-case scores of every finished run of a study: noise on the held-out cases, clean scores
on each domain-shift dataset, and the codebook usage of every quantised latent.

Outputs per run, in ``<out>/eval/<arm>-s<seed>/`` (resumable cell stores, as ``vqseg-eval``):
``noise.jsonl`` (one record per held-out case x kind x level), ``shift.jsonl`` (one per
shift case), ``probes.json`` (the mechanism probes of :mod:`vqseg_core.evaluation.probes`
under the study's first corruption kind) and ``codebook.json``. :mod:`vqseg_core.study.summary` reads them.
A complete evaluation is also archived (:mod:`vqseg_core.study.archive`) when the study keeps
an archive; a run that has only its archive (its folder gone with a machine) is skipped.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vqseg_core.data.layouts import Case, read_dataset
from vqseg_core.evaluation.common import load_case
from vqseg_core.evaluation.noise import NoiseConfig, grid_records, noise_grid, unique_cells
from vqseg_core.evaluation.segmentation import score_case_draws
from vqseg_core.evaluation.selection import exported_selection, select_cases
from vqseg_core.evaluation.sharding import Cell, run_cells
from vqseg_core.evaluation.store import CellStore, cell_key
from vqseg_core.reporting import jsonable
from vqseg_core.study.archive import read_archive, write_archive
from vqseg_core.study.spec import StudyRun, StudySpec

__all__ = ["codebook_usage", "evaluate_run", "evaluate_study", "heldout_cases"]


def heldout_cases(models: Any, max_cases: int | None = None) -> tuple[str, list[Case]]:
    """The dataset name and the held-out cases of a trained model, as its export's data
    config split them (a slice split: the held-out slabs of the volume)."""
    member = next(iter(models))
    data = member.info.get("data") or {}
    root = Path(str(data.get("dataset", "")))
    if str(root).startswith("sample:"):
        root = Path(str(root).removeprefix("sample:"))
    if data.get("split") == "slices":
        from vqseg_core.data.cases import dataset_cases
        from vqseg_core.evaluation.slabs import slab_cases

        cases = dataset_cases(str(data.get("dataset", "")))
        cases = slab_cases(cases, member.recipe, list(data.get("val_slices") or ()))
    else:
        selection = exported_selection(data)
        cases = select_cases(root, selection)
    return root.name, cases[:max_cases] if max_cases else cases


def _models(run: StudyRun):
    from vqseg_core.modelset import set_from_files

    return set_from_files([run.export], name=run.name, keys=["model"])


def _tag(run: StudyRun) -> dict[str, Any]:
    """The columns naming the run (``seed`` is the training seed; the noise seed of a row is
    ``noise_seed``)."""
    return {"arm": run.arm.name, "seed": run.seed}


def evaluate_run(
    spec: StudySpec, run: StudyRun, out: Path, *, device: str = "auto", progress: bool = False
) -> Path:
    """Score one finished run (resuming); returns its evaluation folder.

    ``progress``: tqdm bars over the noise and shift cells (stderr), named after the run.
    """
    folder = Path(out) / "eval" / run.name
    folder.mkdir(parents=True, exist_ok=True)
    models = _models(run)
    dataset, cases = heldout_cases(models, spec.max_cases)
    config = NoiseConfig(
        kinds=spec.kinds, levels=spec.levels, n_draws=spec.draws, seed=spec.noise_seed,
        device=device, precision="float32", progress=False,
    )  # fmt: skip
    grid = noise_grid([models], dataset, cases, config)
    store = CellStore(folder / "noise.jsonl")

    def noise_cell(cell: Cell) -> list[dict[str, Any]]:
        pair, case, kind, level = cell.params
        rows = score_case_draws(
            pair, load_case(case), kind, level, n_draws=config.n_draws, seed=config.seed,
            device=device, precision="float32",
        )  # fmt: skip
        return [{"dataset": dataset, **r, "noise_seed": r["seed"], **_tag(run)} for r in rows]

    run_cells(
        unique_cells(grid), noise_cell, store, progress=progress, desc=f"{run.name} noise"
    )
    rows = grid_records(CellStore(folder / "noise.jsonl"), grid)
    (folder / "noise_rows.json").write_text(json.dumps(jsonable(rows)), encoding="utf-8")

    shift_store = CellStore(folder / "shift.jsonl")
    for shift in spec.shift:
        shift_cases = read_dataset(shift.dataset).cases
        cells = [
            Cell(cell_key({"dataset": shift.name, "case": c.case_id}), c.case_id, c)
            for c in shift_cases
        ]

        def shift_cell(cell: Cell, name: str = shift.name) -> list[dict[str, Any]]:
            case: Case = cell.params
            rows = score_case_draws(
                models, load_case(case), "gaussian", 0.0, n_draws=1, seed=0,
                device=device, precision="float32",
            )  # fmt: skip
            domain = case.domain or name
            return [{"dataset": name, "domain": domain, **r, **_tag(run)} for r in rows]

        desc = f"{run.name} {shift.name}"
        run_cells(cells, shift_cell, shift_store, progress=progress, desc=desc)

    probes_path = folder / "probes.json"
    if not probes_path.exists():
        from vqseg_core.evaluation.probes import probe_rows

        levels = spec.probe_levels if spec.probe_levels is not None else spec.levels
        probes = probe_rows(models, cases, spec.kinds[:1], levels, seed=spec.noise_seed)
        probes = [{**r, **_tag(run)} for r in probes]
        probes_path.write_text(json.dumps(jsonable(probes)), encoding="utf-8")

    usage_path = folder / "codebook.json"
    if not usage_path.exists():
        usage = {**_tag(run), "latents": codebook_usage(models, cases)}
        usage_path.write_text(json.dumps(jsonable(usage), indent=1), encoding="utf-8")
    write_archive(spec, run, folder)
    return folder


@torch.no_grad()
def codebook_usage(models: Any, cases: Sequence[Case]) -> dict[str, dict[str, float]]:
    """Per quantised latent: codes used over ``cases`` (clean), of K, and the perplexity of
    the pooled code histogram (``exp`` of its entropy). Empty for a network without codes."""
    from vqseg_core.analysis.codebook import code_counts, perplexity_from_counts

    member = next(iter(models))
    model = member.model
    counts: dict[str, torch.Tensor] = {}
    sizes: dict[str, int] = {}
    for case in cases:
        loaded = load_case(case)
        x, _ = member.recipe.apply(loaded.array, tuple(loaded.spacing))
        x = np.asarray(x, dtype=np.float32)
        if x.ndim == member.model_dims + 1:  # a 2D network on a volume: its axial slices
            batch = torch.from_numpy(np.ascontiguousarray(np.moveaxis(x, -1, 0)))[:, None]
        else:
            batch = torch.from_numpy(x)[None, None]
        for name, latent in model.encode(batch).latents.items():
            if latent.indices is None:
                continue
            k = _codebook_size(model, name)
            sizes[name] = k
            c = code_counts(latent.indices, k)
            counts[name] = counts[name] + c if name in counts else c
    return {
        name: {
            "codebook_size": sizes[name],
            "used": int((c > 0).sum()),
            "perplexity": float(perplexity_from_counts(c)),
            "vectors": int(c.sum()),
        }
        for name, c in counts.items()
    }


def _codebook_size(model: Any, name: str) -> int:
    """K of the quantiser of latent ``name`` (``bottleneck`` or a quantised ``skipN``)."""
    skips = getattr(model, "skip_quantizers", None)
    if skips is not None and name in skips:
        return int(skips[name].codebook_size)
    return int(model.quantizer.codebook_size)


def _complete(folder: Path) -> bool:
    """Every stage of :func:`evaluate_run` is written (codebook usage is the last)."""
    return (folder / "codebook.json").exists()


def evaluate_study(spec: StudySpec, out: Path, *, device: str = "auto", quiet: bool = False) -> int:
    """Evaluate every finished run (resuming); returns how many runs are evaluated.

    Unless ``quiet`` (``--no-progress``): one line per run and tqdm bars over its cells.
    """
    done = 0
    for run in spec.runs(out):
        if not run.export.exists():
            continue
        if _complete(Path(out) / "eval" / run.name) and read_archive(spec, run) is not None:
            done += 1
            continue
        if not quiet:
            print(f"{run.name}: evaluating", flush=True)
        evaluate_run(spec, run, out, device=device, progress=not quiet)
        done += 1
    return done
