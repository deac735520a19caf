"""Every command follows the field's conventions: ``--version`` and defaults in ``--help``."""

from __future__ import annotations

import contextlib
import io

import pytest

from vqseg_core._version import __version__


def _parsers():
    from napari_vqseg.demo import build_parser as demo
    from vqseg_core.cli.data import build_parser as data
    from vqseg_core.cli.eval import build_parser as evaluation
    from vqseg_core.cli.study import build_parser as study
    from vqseg_core.train.command import build_parser as train

    return {"vqseg-train": train, "vqseg-eval": evaluation, "vqseg-data": data,
            "vqseg-study": study, "vqseg-demo": demo}  # fmt: skip


@pytest.mark.parametrize("prog", list(_parsers()))
def test_version_everywhere(prog: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out), pytest.raises(SystemExit) as done:
        _parsers()[prog]().parse_args(["--version"])
    assert done.value.code == 0
    assert out.getvalue().strip() == f"{prog} {__version__}"


def test_defaults_are_shown_once_and_empty_ones_not_at_all() -> None:
    from vqseg_core.cli.eval import build_parser

    parser = build_parser()
    noise = next(a for a in parser._actions if a.dest == "command").choices["noise"]
    text = noise.format_help()
    assert "(default: 0)" in text  # --seed 0 is a default worth saying
    assert "(default: 8)" in text  # --batch-size
    assert "(default 10)" in text and "(default: 10)" not in text  # said once
    assert "(default: None)" not in text and "(default: False)" not in text


@pytest.mark.parametrize("prog", ["vqseg-train", "vqseg-eval", "vqseg-data", "vqseg-study"])
def test_one_name_for_no_progress(prog: str) -> None:
    parser = _parsers()[prog]()
    subparsers = [parser]
    for action in parser._actions:
        if action.dest == "command":
            subparsers = list(action.choices.values())
    flags = {o for p in subparsers for a in p._actions for o in a.option_strings}
    assert "--no-progress" in flags, prog
