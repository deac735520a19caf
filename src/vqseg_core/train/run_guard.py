"""What guards a training run's process: one run per output folder (``out/.lock`` holds the
training process's pid), and SIGTERM saving like Ctrl-C.

A lock is stale when its process is gone, or when the process now holding that pid started
after the lock was written (the pid was reused: Linux ``/proc``); a stale lock is taken over.
A lock held by a live process is refused with the lock file's path, so that a user who knows
better can delete it.
"""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path

_CLOCK_SLACK_S = 2.0  # /proc start times are rounded (boot time to 1 s): allow some slack


class RunExistsError(ValueError):
    """The output folder already holds a run and ``resume`` was not asked for."""


class RunLock:
    """``out/.lock`` holding this process's pid; refuses a folder another live process holds."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / ".lock"
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pid = self._holder()
                if pid is not None and pid != os.getpid() and _holds(pid, self.path):
                    raise RunExistsError(
                        f"{out} is being trained by another process (pid {pid}, lock file "
                        f"{self.path}); if no training runs there, delete {self.path} and "
                        "run again"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(str(os.getpid()))
            return
        raise RunExistsError(f"cannot take the lock {self.path}")

    def _holder(self) -> int | None:
        try:
            pid = int(self.path.read_text(encoding="utf-8").strip() or "0")
        except (OSError, ValueError):
            return None
        return pid if 0 < pid < 2**31 else None

    def release(self) -> None:
        if self._holder() == os.getpid():
            self.path.unlink(missing_ok=True)


def check_out_folder(out: Path) -> None:
    """Refuse an output folder that cannot be one, before any work.

    Raises:
        ValueError: ``out``, or a folder above it, is a file.
    """
    for part in (out, *out.parents):
        if part.exists():
            if not part.is_dir():
                what = "is a file" if part == out else f"lies under a file ({part})"
                raise ValueError(f"output folder {out} {what}: choose another --out")
            return


def _holds(pid: int, lock: Path) -> bool:
    """Whether the live process ``pid`` can be the one that wrote ``lock``."""
    if not _alive(pid):
        return False
    started = _start_time(pid)
    try:
        written = lock.stat().st_mtime
    except OSError:
        return True
    return started is None or started <= written + _CLOCK_SLACK_S


def _start_time(pid: int) -> float | None:
    """When process ``pid`` started (seconds since the epoch), or ``None`` where unknown."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii")
        ticks = int(stat.rsplit(")", 1)[1].split()[19])  # field 22: starttime in clock ticks
        boot = next(
            float(line.split()[1])
            for line in Path("/proc/stat").read_text(encoding="ascii").splitlines()
            if line.startswith("btime ")
        )
        return boot + ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, StopIteration):
        return None


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sigterm_interrupts():
    """Make SIGTERM raise KeyboardInterrupt (main thread only); returns the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)
