"""What guards a training run's process: one run per output folder (``out/.lock`` holds the
training process's pid), and SIGTERM saving like Ctrl-C."""

from __future__ import annotations

import os
import signal
import threading
from pathlib import Path


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
                if pid is not None and pid != os.getpid() and _alive(pid):
                    raise RunExistsError(
                        f"{out} is being trained by another process (pid {pid})"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(str(os.getpid()))
            return
        raise RunExistsError(f"cannot take the lock {self.path}")

    def _holder(self) -> int | None:
        try:
            return int(self.path.read_text(encoding="utf-8").strip() or "0") or None
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._holder() == os.getpid():
            self.path.unlink(missing_ok=True)


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
