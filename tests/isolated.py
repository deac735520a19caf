"""Run one hostile-input case in a fresh Python process with a time limit.

A reader that blocks forever (a FIFO as a detached data file, a checkpoint that is
``/dev/zero``) must fail its test, not hang the suite: :func:`run_isolated` runs a snippet in a
subprocess, kills it after ``timeout`` seconds and reports what happened as an
:class:`Outcome` (``ok``, ``clear error``, ``traceback``, ``hang``).

Importable as ``isolated`` (``tests/`` is on ``sys.path`` through its ``conftest.py``).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from dataclasses import dataclass

_RESULT_TAG = "@@ISOLATED@@"

_PRELUDE = f"""
import json as _json, sys as _sys, traceback as _tb
def _report(kind, message=""):
    print({_RESULT_TAG!r} + _json.dumps({{"kind": kind, "message": str(message)}}), flush=True)
"""


@dataclass(frozen=True)
class Outcome:
    """What an isolated case did.

    Attributes:
        kind: ``"ok"`` (the body returned), ``"error"`` (it raised one of the expected
            exception types), ``"traceback"`` (it raised anything else), ``"hang"`` (killed at
            the time limit) or ``"crash"`` (the process died without reporting).
        message: The exception's text (``"error"``/``"traceback"``), the body's returned value
            as text (``"ok"``), else the tail of stderr.
        stdout: Everything the process printed (without the result line).
        stderr: Everything the process wrote to stderr.
    """

    kind: str
    message: str
    stdout: str
    stderr: str


def run_isolated(
    body: str,
    *,
    expect: str = "Exception",
    timeout: float = 20.0,
    env: dict[str, str] | None = None,
) -> Outcome:
    """Run ``body`` (Python statements) in a fresh interpreter, killed after ``timeout`` s.

    ``body`` may set a variable ``result``; its ``repr`` is the message of an ``"ok"`` outcome.
    An exception whose type is one of ``expect`` (a comma-separated list of names that are
    importable in ``body``'s namespace, e.g. ``"ImageLoadError, CheckpointError"``) is an
    ``"error"``; any other exception is a ``"traceback"``.
    """
    code = (
        _PRELUDE
        + "try:\n"
        + textwrap.indent(textwrap.dedent(body), "    ")
        + "\n    _report('ok', repr(locals().get('result')))\n"
        + "except BaseException as _exc:\n"
        + f"    _expected = tuple(eval(_n.strip()) for _n in {expect!r}.split(','))\n"
        + "    if isinstance(_exc, _expected):\n"
        + "        _report('error', _exc)\n"
        + "    else:\n"
        + "        _report('traceback', ''.join(_tb.format_exception(_exc)))\n"
    )
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    try:
        proc = subprocess.run(
            [sys.executable, "-c", code],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=full_env,
        )
    except subprocess.TimeoutExpired as exc:
        out = exc.stdout.decode() if isinstance(exc.stdout, bytes) else (exc.stdout or "")
        err = exc.stderr.decode() if isinstance(exc.stderr, bytes) else (exc.stderr or "")
        return Outcome("hang", f"still running after {timeout} s", out, err)
    lines = proc.stdout.splitlines()
    tagged = [line for line in lines if line.startswith(_RESULT_TAG)]
    rest = "\n".join(line for line in lines if not line.startswith(_RESULT_TAG))
    if not tagged:
        return Outcome("crash", f"exit {proc.returncode}: {proc.stderr[-2000:]}", rest, proc.stderr)
    report = json.loads(tagged[-1][len(_RESULT_TAG) :])
    return Outcome(report["kind"], report["message"], rest, proc.stderr)


def run_command(
    argv: list[str], *, timeout: float = 60.0, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a console command (e.g. ``[sys.executable, "-m", "vqseg_core.cli.eval", ...]``)
    with a time limit; a hang raises :class:`subprocess.TimeoutExpired` (the test fails)."""
    full_env = {**os.environ, "OMP_NUM_THREADS": "1", **(env or {})}
    return subprocess.run(argv, capture_output=True, text=True, timeout=timeout, env=full_env)


def is_one_line_error(stderr: str, prog: str) -> bool:
    """True when ``stderr`` carries ``PROG: error: ...`` and no Python traceback."""
    return "Traceback (most recent call last)" not in stderr and f"{prog}: error:" in stderr
