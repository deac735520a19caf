"""The shared error handling of every command: one line unless ``--debug``, 130 on Ctrl-C."""

from __future__ import annotations

import errno
import subprocess
import sys

import pytest

from isolated import is_one_line_error, run_command
from vqseg_core.command_errors import describe, run_main


def _raise(exc: BaseException):
    def body() -> int:
        raise exc

    return body


def test_an_unexpected_error_is_one_line_naming_its_type_and_debug(capsys) -> None:
    assert run_main("prog", _raise(RuntimeError("boom\nsecond line"))) == 2
    err = capsys.readouterr().err
    assert err == "prog: error: RuntimeError: boom second line (run again with --debug for the traceback)\n"


def test_debug_lets_the_exception_through() -> None:
    with pytest.raises(RuntimeError, match="boom"):
        run_main("prog", _raise(RuntimeError("boom")), debug=True)


def test_ctrl_c_is_130_with_what_to_do(capsys) -> None:
    assert run_main("prog", _raise(KeyboardInterrupt()), interrupted="run again") == 130
    assert capsys.readouterr().err == "prog: interrupted; run again\n"


def test_an_oserror_names_its_path_or_the_output_folder() -> None:
    exc = PermissionError(errno.EACCES, "Permission denied", "/x/out/.lock")
    assert describe(exc).startswith("/x/out/.lock: Permission denied")
    full = OSError(errno.ENOSPC, "No space left on device")  # a write() carries no path
    assert describe(full, where="/x/out").startswith("writing in /x/out: No space left")


def test_a_value_error_is_its_message_only(capsys) -> None:
    assert run_main("prog", _raise(ValueError("optim.lr must be a number, got 'x'"))) == 2
    assert capsys.readouterr().err == "prog: error: optim.lr must be a number, got 'x'\n"


@pytest.mark.parametrize("prog", ["vqseg-train", "vqseg-eval", "vqseg-data", "vqseg-study"])
def test_every_command_has_debug(prog: str) -> None:
    module = {"vqseg-train": "train", "vqseg-eval": "eval", "vqseg-data": "data",
              "vqseg-study": "study"}[prog]  # fmt: skip
    done = subprocess.run(  # the help text is UTF-8 (±) whatever the locale
        [sys.executable, "-m", f"vqseg_core.cli.{module}", "--help"],
        capture_output=True, encoding="utf-8", timeout=120, check=False,
    )  # fmt: skip
    assert done.returncode == 0 and "--debug" in done.stdout


def test_a_missing_config_file_is_one_line(tmp_path) -> None:
    argv = [sys.executable, "-m", "vqseg_core.cli.train", str(tmp_path / "nope.yaml")]
    done = run_command(argv, timeout=120)
    assert done.returncode == 2 and is_one_line_error(done.stderr, "vqseg-train")
    assert str(tmp_path / "nope.yaml") in done.stderr
