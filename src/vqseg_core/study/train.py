"""Train a study's missing runs, resuming unfinished ones; several workers may share the queue.

Every worker walks the runs in the same order (seed by seed) and skips a run that is finished
(its export exists, or its archive: :mod:`.archive`) or that another live process is training
(the run folder's lock), so ``N`` workers started side by side train ``N`` runs at a time
without coordination.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from vqseg_core.study.spec import StudyRun, StudySpec

__all__ = ["RunState", "run_states", "train_missing"]


@dataclass(frozen=True)
class RunState:
    """Where one run stands: ``finished``, ``archived`` (evaluated, its record committed; the
    run folder may be gone), ``partial`` (a checkpoint or log) or ``missing``."""

    run: StudyRun
    state: str
    steps_done: int


def _steps_logged(folder: Path) -> int:
    log = folder / "log.jsonl"
    if not log.exists():
        return 0
    with open(log, "rb") as fh:
        return sum(1 for line in fh if line.strip())


def run_states(spec: StudySpec, out: Path) -> list[RunState]:
    """The state of every run of the study under ``out``."""
    from vqseg_core.study.archive import read_archive

    states = []
    for run in spec.runs(out):
        archived = None if run.export.exists() else read_archive(spec, run)
        if archived is not None:
            steps = max((int(v["step"]) for v in archived.get("validation") or ()), default=0)
            states.append(RunState(run, "archived", steps))
        elif run.export.exists():
            states.append(RunState(run, "finished", _steps_logged(run.folder)))
        elif (run.folder / "log.jsonl").exists():
            states.append(RunState(run, "partial", _steps_logged(run.folder)))
        else:
            states.append(RunState(run, "missing", 0))
    return states


def train_missing(
    spec: StudySpec,
    out: Path,
    *,
    device: str = "auto",
    limit: int | None = None,
    echo: Callable[[str], None] = print,
    progress: bool = True,
) -> list[StudyRun]:
    """Train (or resume) every run without an export; return the runs trained here.

    Args:
        spec: the study.
        out: the study folder.
        device: the training device.
        limit: train at most this many runs in this call.
        echo: progress messages.
        progress: each run's tqdm bars (``False``: ``logging.progress=false`` for every run).
    """
    from vqseg_core.study.archive import read_archive
    from vqseg_core.train.config import load_config
    from vqseg_core.train.loop import train
    from vqseg_core.train.run_guard import RunExistsError

    done: list[StudyRun] = []
    for run in spec.runs(out):
        if limit is not None and len(done) >= limit:
            break
        if run.export.exists() or read_archive(spec, run) is not None:
            continue
        quiet = [] if progress else ["logging.progress=false"]
        config = load_config(spec.base, [*spec.overrides(run), *quiet])
        echo(f"{run.name}: training ({config.schedule.steps} steps) in {run.folder}")
        try:
            result = train(config, run.folder, resume=True, device=device, echo=echo)
        except RunExistsError as exc:
            echo(f"{run.name}: skipped ({exc})")
            continue
        if result.interrupted:
            echo(f"{run.name}: interrupted at step {result.steps_done}; run again to resume")
            break
        done.append(run)
    return done
