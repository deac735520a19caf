"""``vqseg-study``'s progress: tqdm bars by default, none with ``--no-progress`` (train and
evaluate alike; ``--quiet`` is the old name)."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from vqseg_core.cli.study import build_parser
from vqseg_core.study.spec import load_study

from .test_study_end_to_end import STUDY


@pytest.fixture
def spec(tmp_path: Path):
    path = tmp_path / "tiny.yaml"
    path.write_text(STUDY.replace("  logging.progress: false\n", ""), encoding="utf-8")
    return load_study(path)


@pytest.mark.parametrize("command", ["train", "evaluate", "all"])
@pytest.mark.parametrize("flag", [None, "--no-progress", "--quiet"])
def test_every_long_study_command_takes_no_progress(command: str, flag: str | None) -> None:
    args = build_parser().parse_args([command, "s.yaml", "--out", "o", *([flag] if flag else [])])
    assert args.quiet is (flag is not None)


@pytest.mark.parametrize("progress", [True, False])
def test_study_training_passes_no_progress_to_every_run(
    spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, progress: bool
) -> None:
    import vqseg_core.train.loop as loop
    from vqseg_core.study.train import train_missing

    seen: list[bool] = []

    def fake_train(config: Any, folder: Path, **kwargs: Any) -> SimpleNamespace:
        seen.append(config.logging.progress)
        return SimpleNamespace(interrupted=False, steps_done=config.schedule.steps)

    monkeypatch.setattr(loop, "train", fake_train)
    train_missing(spec, tmp_path / "study", echo=lambda _: None, progress=progress)
    assert seen == [progress] * len(spec.runs(tmp_path / "study"))


@pytest.mark.parametrize("quiet", [True, False])
def test_study_evaluation_shows_cell_bars_unless_quiet(
    spec, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, quiet: bool
) -> None:
    import vqseg_core.study.evaluate as evaluate

    out = tmp_path / "study"
    for run in spec.runs(out):
        run.export.parent.mkdir(parents=True, exist_ok=True)
        run.export.write_text("{}", encoding="utf-8")
    seen: list[bool] = []
    monkeypatch.setattr(
        evaluate, "evaluate_run", lambda *a, progress=False, **k: seen.append(progress)
    )
    assert evaluate.evaluate_study(spec, out, quiet=quiet) == len(seen) == 4
    assert seen == [not quiet] * 4
