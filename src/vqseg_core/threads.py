"""How many CPU threads inference may use on a machine it shares: one policy, one place.

torch's OpenMP threads spin while they wait for each other. When another process keeps a core
busy (napari's UI thread and rendering, a second evaluation job, a training run), a thread that
lost its core stalls every other one: on 2 cores with one busy process, ``pair.predict`` on the
chest pair took 1.42 s with 2 threads against 0.59 s with 1 (0.39 s idle with 2). The policy
(:func:`worker_threads`) therefore gives inference the cores nobody else is using right now:

* the CPUs this process may run on (``os.sched_getaffinity``), minus
* ``reserve`` cores kept free for the caller's own other threads (the explorer keeps none: its
  UI thread is idle while the user waits), minus
* the other processes running right now at normal priority (``/proc/*/stat``: state ``R``,
  nice < :data:`NICE_IGNORED`; niced background jobs such as ``vqseg-study train`` yield their
  core to us and are not counted), unless OpenMP's waiting threads sleep
  (``OMP_WAIT_POLICY=PASSIVE``, :func:`prefer_passive_wait`: then they cost nothing while
  another process has the core, and every core is used),

at least 1. It is read again for each update (a few milliseconds, reused for half a second),
so the count follows the load as it comes and goes. ``VQSEG_THREADS`` (an int) overrides it.

Use it where the work runs (OpenMP thread counts belong to the calling thread)::

    from vqseg_core.threads import inference_threads

    with inference_threads():          # in the worker thread, around the update
        pair.predict(image, spacing)

ONNX Runtime sessions made by :mod:`vqseg_core.backends` never spin; inside the block they use
every usable core (:func:`session_threads`; measured faster than fewer threads under load). ``vqseg-eval`` under ``torchrun``
splits the cores between its processes with :func:`job_threads`.
"""

from __future__ import annotations

import contextlib
import contextvars
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

ENV = "VQSEG_THREADS"
NICE_IGNORED = 10  # processes at this nice level or above do not count as competitors

BUSY_TTL = 0.5  # seconds a count of busy processes is reused (a scan costs a few ms)
_last_busy: tuple[float, int] = (-1e9, 0)

# threads of non-spinning pools (ONNX Runtime sessions) in an inference_threads block
_session: contextvars.ContextVar[int | None] = contextvars.ContextVar("session", default=None)


def available_cores() -> int:
    """The CPUs this process may run on (its affinity mask), at least 1."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):
        return max(1, os.cpu_count() or 1)


def busy_processes(proc: str | Path = "/proc") -> int | None:
    """Other processes running right now at a normal priority, or ``None`` where unknown.

    A process counts when one of its threads is in state ``R`` (running or runnable) and its
    nice value is below :data:`NICE_IGNORED`; this process never counts. Linux only
    (``/proc``).
    """
    root = Path(proc)
    if not (root / "self").exists() and not (root / "1").exists():
        return None
    me = os.getpid()
    count = 0
    try:
        entries = list(os.scandir(root))
    except OSError:
        return None
    for entry in entries:
        if entry.name.isdigit() and int(entry.name) != me and _running(Path(entry.path)):
            count += 1
    return count


def _state(stat: Path) -> tuple[str, int] | None:
    """``(state, nice)`` from a ``/proc`` ``stat`` file, or ``None``."""
    try:
        text = stat.read_text(encoding="ascii", errors="replace")
    except OSError:
        return None
    fields = text[text.rfind(")") + 2 :].split()  # after "pid (comm) "
    if len(fields) < 17:
        return None
    return fields[0], int(fields[16])


def _running(pid_dir: Path) -> bool:
    """Whether any thread of one process is running at a counted priority."""
    main = _state(pid_dir / "stat")
    if main is None or main[1] >= NICE_IGNORED:
        return False
    if main[0] == "R":
        return True
    try:
        tasks = list(os.scandir(pid_dir / "task"))
    except OSError:
        return False
    if len(tasks) <= 1:
        return False
    return any((st := _state(Path(t.path, "stat"))) is not None and st[0] == "R" for t in tasks)


def prefer_passive_wait() -> bool:
    """Ask OpenMP to let waiting threads sleep (``OMP_WAIT_POLICY=PASSIVE``) unless the user
    chose a policy; it only takes effect before torch is first imported (OpenMP reads it once).
    Returns :func:`passive_wait`. Call it where a front end starts (the napari plugin)."""
    if "torch" not in sys.modules:
        os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    return passive_wait()


def passive_wait() -> bool:
    """Whether torch's OpenMP threads sleep while they wait (``OMP_WAIT_POLICY=PASSIVE``)."""
    return os.environ.get("OMP_WAIT_POLICY", "").strip().upper() == "PASSIVE"


def worker_threads(reserve: int = 0, *, busy: int | None = None, cores: int | None = None) -> int:
    """Threads for one inference worker now: free cores (see the module doc), at least 1.

    Under a passive wait policy (:func:`passive_wait`) waiting threads sleep and every usable
    core less ``reserve`` is given (measured faster than fewer threads under load, B7).

    Args:
        reserve: cores to leave to this process's other threads.
        busy: competing processes (default: :func:`busy_processes`, read now).
        cores: usable CPUs (default: :func:`available_cores`).
    """
    override = os.environ.get(ENV, "").strip()
    if override:
        try:
            return max(1, int(override))
        except ValueError:
            pass
    cores = available_cores() if cores is None else cores
    if busy is None:
        busy = 0 if passive_wait() else _recent_busy()
    return max(1, cores - max(0, reserve) - max(0, busy))


def _recent_busy() -> int:
    """:func:`busy_processes`, reused for :data:`BUSY_TTL` seconds (0 where unknown)."""
    global _last_busy
    now = time.monotonic()
    if now - _last_busy[0] > BUSY_TTL:
        _last_busy = (now, busy_processes() or 0)
    return _last_busy[1]


@contextlib.contextmanager
def inference_threads(n: int | None = None, reserve: int = 0) -> Iterator[int]:
    """Run the block with ``n`` torch threads (default :func:`worker_threads`), then restore.

    Non-spinning thread pools (ONNX Runtime sessions, :func:`session_threads`) get ``n`` when
    it is given, else every usable core less ``reserve``: a thread of theirs that waits
    sleeps, so a busy core costs them only its share (measured: B7). Enter it in the thread
    that does the work: OpenMP thread counts are per calling thread. Yields the torch count.
    """
    import torch

    count = worker_threads(reserve) if n is None else max(1, int(n))
    pool = count if n is not None or os.environ.get(ENV, "").strip() else None
    if pool is None:
        pool = max(1, available_cores() - max(0, reserve))
    before = torch.get_num_threads()
    token = _session.set(pool)
    if count != before:
        torch.set_num_threads(count)
    try:
        yield count
    finally:
        _session.reset(token)
        if torch.get_num_threads() != before:
            torch.set_num_threads(before)


def session_threads() -> int:
    """Threads for a non-spinning pool run now: what the enclosing :func:`inference_threads`
    chose, else torch's thread count of the calling thread."""
    pool = _session.get()
    if pool is not None:
        return pool
    import torch

    return max(1, torch.get_num_threads())


def job_threads(local_world_size: int | None = None) -> int:
    """Threads for each of ``local_world_size`` processes on one machine (``vqseg-eval`` under
    ``torchrun``): the free cores (:func:`worker_threads`, counting the sibling jobs as ours)
    shared evenly, at least 1. ``OMP_NUM_THREADS`` set by the user (not by torchrun's default
    of 1) or ``VQSEG_THREADS`` wins."""
    local = local_world_size or int(os.environ.get("LOCAL_WORLD_SIZE", "1") or 1)
    override = os.environ.get(ENV, "").strip()
    if override:
        return worker_threads()
    busy = busy_processes() or 0
    siblings = max(0, local - 1)
    free = worker_threads(busy=max(0, busy - siblings))
    return max(1, free // max(1, local))


def apply_job_threads(local_world_size: int | None = None) -> int | None:
    """Set torch's threads for this ``vqseg-eval`` process by :func:`job_threads`; returns the
    count, or ``None`` when ``OMP_NUM_THREADS`` was chosen by the user (left as it is)."""
    omp = os.environ.get("OMP_NUM_THREADS")
    torchrun_default = omp == "1" and "LOCAL_WORLD_SIZE" in os.environ
    if omp and not torchrun_default and not os.environ.get(ENV):
        return None
    import torch

    n = job_threads(local_world_size)
    torch.set_num_threads(n)
    return n
