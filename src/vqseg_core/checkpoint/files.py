"""Reading a file that may be anything: only regular files, never more than their size.

A path given to a loader can name a FIFO (``open`` blocks until a writer comes, forever), a
character device (``/dev/zero`` reads without end until memory runs out), a folder, or a
symlink to any of those. :func:`read_regular_file` opens without blocking, checks what it
opened (``fstat``, after the symlinks are resolved: no race between a check and the open),
refuses anything that is not a regular file, and reads at most the size it saw, refusing a
file larger than the caller's bound (or the memory budget) before reading a byte.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from vqseg_core.checkpoint.errors import CheckpointError

_KINDS = (
    (stat.S_ISDIR, "a folder"),
    (stat.S_ISFIFO, "a FIFO (named pipe)"),
    (stat.S_ISCHR, "a character device"),
    (stat.S_ISBLK, "a block device"),
    (stat.S_ISSOCK, "a socket"),
)


def describe_mode(mode: int) -> str:
    """What kind of file ``mode`` (``st_mode``) is, in words (``"a FIFO (named pipe)"``)."""
    for test, words in _KINDS:
        if test(mode):
            return words
    return "not a regular file"


def read_regular_file(
    path: str | os.PathLike[str],
    *,
    max_bytes: int | None = None,
    what: str = "file",
    expect_size: tuple[int, str] | None = None,
) -> bytes:
    """All the bytes of the regular file ``path`` (symlinks followed), read without blocking.

    Args:
        path: the file.
        max_bytes: refuse a file larger than this (default: the memory budget of
            :func:`vqseg_core.models.budget.memory_budget`).
        what: what the file should be, for messages (``"checkpoint"``).
        expect_size: ``(bytes, who says so)``: refuse, unread, a file of another size
            (``"truncated: 10 bytes, a.json says 12"``).

    Returns:
        The content (exactly the size ``fstat`` reported when it was opened).

    Raises:
        CheckpointError: naming the file: not found, unreadable, not a regular file (a FIFO,
            a device, a folder, ...), larger than ``max_bytes``, or changing while read.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0)
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        raise CheckpointError(path, "file not found") from None
    except IsADirectoryError:
        raise CheckpointError(path, f"cannot read it: it is a folder, not a {what}") from None
    except OSError as exc:
        raise CheckpointError(path, f"cannot read file: {exc.strerror or exc}") from exc
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            target = Path(path)
            via = f" (a symlink to {os.path.realpath(target)})" if target.is_symlink() else ""
            raise CheckpointError(
                path, f"cannot read it: it is {describe_mode(info.st_mode)}{via}, not a "
                f"regular file (a {what} must be one); nothing was read"
            )
        size = info.st_size
        if expect_size is not None and size != expect_size[0]:
            kind = "truncated" if size < expect_size[0] else "too long"
            raise CheckpointError(
                path, f"{kind}: {size} bytes, {expect_size[1]} says {expect_size[0]}"
            )
        if max_bytes is None:
            from vqseg_core.models.budget import memory_budget

            max_bytes = memory_budget()
        if size > max_bytes:
            from vqseg_core.models.budget import format_bytes

            raise CheckpointError(
                path, f"{format_bytes(size)} is larger than a {what} may be here "
                f"({format_bytes(max_bytes)}); not read"
            )
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        remaining = size
        while remaining > 0:
            chunk = os.read(fd, min(remaining, 1 << 24))
            if not chunk:
                raise CheckpointError(
                    path, f"file shrank while being read ({size - remaining} of {size} bytes)"
                )
            chunks.append(chunk)
            remaining -= len(chunk)
        if os.read(fd, 1):
            raise CheckpointError(path, f"file grew while being read (beyond {size} bytes)")
        return b"".join(chunks)
    except OSError as exc:
        raise CheckpointError(path, f"cannot read file: {exc.strerror or exc}") from exc
    finally:
        os.close(fd)
