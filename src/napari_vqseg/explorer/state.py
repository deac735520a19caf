"""The explorer session's bookkeeping (no Qt, no torch): the result cache and the jobs.

Each piece of background work is a :class:`Job` whose ``cancelled`` flag the worker polls
through ``job.cancel`` (a callable); starting a job cancels the older ones of its kind, whose
results are dropped, never shown. :class:`~napari_vqseg.explorer.session.ExplorerSession`
owns one :class:`ResultCache` and one :class:`JobTracker`.
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

import numpy as np


def array_fingerprint(array: Any) -> str:
    """A cheap content id of an array: shape, dtype and a hash of a strided sample of its values."""
    arr = np.asarray(array)
    flat = arr.reshape(-1)
    step = max(1, flat.size // 65536)
    digest = hashlib.blake2b(np.ascontiguousarray(flat[::step]).tobytes(), digest_size=8)
    digest.update(f"{arr.shape}{arr.dtype}{flat.size}".encode())
    if flat.size:
        digest.update(np.float64(flat.astype(np.float64).sum()).tobytes())
    return digest.hexdigest()


class ResultCache:
    """A small LRU cache of analysis results (thread-safe; revisiting a setting is instant).

    Args:
        max_items: results kept; the least recently used is evicted first.
    """

    def __init__(self, max_items: int = 24) -> None:
        if max_items < 1:
            raise ValueError(f"max_items must be >= 1, got {max_items}")
        self.max_items = max_items
        self._items: OrderedDict[Hashable, Any] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0

    def get(self, key: Hashable) -> Any | None:
        """The cached result of ``key`` (marked recently used), or ``None``."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key]
            self.misses += 1
            return None

    def put(self, key: Hashable, value: Any) -> None:
        """Store a result, evicting the least recently used beyond ``max_items``."""
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)

    def __contains__(self, key: object) -> bool:
        with self._lock:
            return key in self._items

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)

    def clear(self) -> None:
        """Forget everything."""
        with self._lock:
            self._items.clear()


@dataclass
class Job:
    """One unit of background work; ``cancel`` is the callable handed to the core.

    Attributes:
        id: increasing number.
        key: what it computes (jobs of one kind with equal keys are the same job).
        kind: ``"analyse"``, ``"sweep"`` or ``"models"``.
        cancelled: set when a newer job of its kind started, or on cancel.
        done: set when its worker returned.
        work: what the worker thread runs (no arguments; returns like
            :func:`napari_vqseg.explorer.workers.guarded`).
    """

    id: int
    key: Hashable
    kind: str = "analyse"
    cancelled: bool = False
    done: bool = False
    work: Callable[[], Any] | None = field(default=None, repr=False)

    def cancel(self) -> bool:
        """Whether this job should stop (polled by the worker)."""
        return self.cancelled


class JobTracker:
    """Which background jobs are running and which one is current.

    Starting a job of a kind cancels the older jobs of that kind; a result is shown only if its
    job is still current (not cancelled and the newest of its kind).
    """

    def __init__(self) -> None:
        self._ids = itertools.count(1)
        self._jobs: dict[int, Job] = {}
        self._lock = threading.Lock()

    def start(self, key: Hashable, kind: str = "analyse") -> Job:
        """Register a new job of ``kind``, cancelling the running ones of that kind."""
        with self._lock:
            for job in self._jobs.values():
                if job.kind == kind:
                    job.cancelled = True
            job = Job(next(self._ids), key, kind)
            self._jobs[job.id] = job
            return job

    def finish(self, job: Job) -> bool:
        """Mark ``job`` done; returns whether its result should be shown (it is current)."""
        with self._lock:
            job.done = True
            self._jobs.pop(job.id, None)
            return not job.cancelled

    def live(self, key: Hashable, kind: str) -> Job | None:
        """The running, not cancelled job of ``kind`` computing ``key``, or ``None``."""
        with self._lock:
            for job in self._jobs.values():
                if job.kind == kind and job.key == key and not job.cancelled:
                    return job
            return None

    def is_current(self, job: Job) -> bool:
        """Whether ``job`` is still running and not cancelled."""
        with self._lock:
            return not job.cancelled and job.id in self._jobs

    def cancel_all(self, kind: str | None = None) -> int:
        """Cancel running jobs (of one kind, or all); returns how many were cancelled."""
        with self._lock:
            jobs = [j for j in self._jobs.values() if kind is None or j.kind == kind]
            for job in jobs:
                job.cancelled = True
            return sum(not j.done for j in jobs)

    @property
    def running(self) -> list[Job]:
        """Jobs started and not yet finished (cancelled ones included until they return)."""
        with self._lock:
            return list(self._jobs.values())

    @property
    def busy(self) -> bool:
        """Whether a job that is not cancelled is running."""
        with self._lock:
            return any(not j.cancelled for j in self._jobs.values())


@dataclass(frozen=True)
class AnalysisKey:
    """What a view depends on, read off its :class:`~vqseg_core.engine.RunRequest`.

    ``focus`` is the displayed axial slice for volumes under a 2D slice model (their latent
    maps are that slice's), else ``None``. ``spacing`` is part of it: the same pixels with
    another (or an unknown) spacing are resampled and measured differently. The reference
    model is not part of it: a view is re-referenced without running anything
    (:func:`~napari_vqseg.explorer.session.with_reference`).
    """

    models: str
    keys: tuple[str, ...]
    corruption: Any
    n_draws: int
    device: str
    precision: str
    latents: bool
    focus: int | None
    image: str
    ground_truth: str | None
    spacing: tuple[float, ...] | None = None
