"""What every command does with an error: one line on stderr, no traceback unless ``--debug``.

:func:`run_main` wraps a command's body: an exception becomes ``PROG: error: <message>`` and
exit code 2, Ctrl-C (or SIGTERM turned into ``KeyboardInterrupt``) exit code 130. A failed file
operation (:class:`OSError`) names its path; one raised without a path (a ``write`` on a full
disk) names the folder the command writes into. ``--debug`` lets the exception through, so
Python prints the full traceback.
"""

from __future__ import annotations

import argparse
import errno
import sys
from collections.abc import Callable
from pathlib import Path

EXIT_ERROR = 2
EXIT_INTERRUPTED = 130

_HINTS = {
    errno.ENOSPC: "free some space and run the command again",
    errno.EDQUOT: "free some space and run the command again",
    errno.EROFS: "choose a writable --out",
    errno.EACCES: "check the permissions, or choose another --out",
    errno.EPERM: "check the permissions, or choose another --out",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EEXIST: "the path exists and is not a folder",
}


class UserError(ValueError):
    """A problem with the arguments or the inputs: reported in one line, exit code 2."""


def add_debug_flag(parser: argparse.ArgumentParser, *, sub: bool = False) -> None:
    """Add ``--debug`` (show the traceback of an error) to ``parser``.

    On a subcommand's parser (``sub=True``) the flag does not reset a ``--debug`` given
    before the subcommand.
    """
    kwargs = {"default": argparse.SUPPRESS} if sub else {"default": False}
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on an error, show the full Python traceback instead of one line",
        **kwargs,  # type: ignore[arg-type]
    )


def describe(exc: BaseException, where: str | Path | None = None) -> str:
    """One line saying what went wrong.

    Args:
        exc: the exception.
        where: the folder or file the command was writing, named when an :class:`OSError`
            carries no path of its own.
    """
    if isinstance(exc, OSError):
        reason = exc.strerror or str(exc) or type(exc).__name__
        paths = [str(p) for p in (exc.filename, exc.filename2) if p is not None]
        if not paths and where is not None:
            paths = [f"writing in {where}"]
        hint = _HINTS.get(exc.errno or -1)
        text = f"{' -> '.join(paths)}: {reason}" if paths else reason
        return f"{text} ({hint})" if hint else text
    if isinstance(exc, KeyError):
        return f"missing key {exc}"
    text = " ".join(str(exc).split()) if str(exc).strip() else ""
    if isinstance(exc, ValueError):
        return text or type(exc).__name__
    # not a failure the code expects: say what it is and how to see more
    detail = f"{type(exc).__name__}: {text}" if text else type(exc).__name__
    return f"{detail} (run again with --debug for the traceback)"


def run_main(
    prog: str,
    body: Callable[[], int],
    *,
    debug: bool = False,
    interrupted: str = "",
    where: str | Path | None = None,
) -> int:
    """Run a command's ``body`` and turn what it raises into a message and an exit code.

    Args:
        prog: the command's name (the message's prefix).
        body: the command; returns its exit code.
        debug: let exceptions through (Python prints the traceback).
        interrupted: what the user can do after Ctrl-C (appended to the message).
        where: the output folder, named for an :class:`OSError` without a path.

    Returns:
        ``body``'s exit code, 2 after an error, 130 after an interrupt.
    """
    try:
        return body()
    except KeyboardInterrupt:
        if debug:
            raise
        tail = f"; {interrupted}" if interrupted else ""
        print(f"{prog}: interrupted{tail}", file=sys.stderr)
        return EXIT_INTERRUPTED
    except SystemExit:
        raise
    except Exception as exc:
        if debug:
            raise
        print(f"{prog}: error: {describe(exc, where)}", file=sys.stderr)
        return EXIT_ERROR
