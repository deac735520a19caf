"""The explorer session's bookkeeping (no Qt, no torch): the result cache and the jobs.

Each piece of background work is a :class:`Job` whose ``cancelled`` flag the worker polls
through ``job.cancel`` (a callable); starting a job cancels the older ones of its kind, whose
results are dropped, never shown. :class:`~napari_vqseg.explorer.session.ExplorerSession`
owns one :class:`ResultCache` and one :class:`JobTracker`.
"""

from __future__ import annotations

import dataclasses
import hashlib
import itertools
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

MIB = 2**20
DEFAULT_CACHE_BYTES = 2048 * MIB
"""The result cache's default bound (see :attr:`ExplorerSettings.cache_mib`)."""

_CHUNK = 16 * MIB  # arrays above 4 chunks are hashed chunk by chunk on several threads


def array_fingerprint(array: Any) -> str:
    """A content id of a whole array: SHA-256 over its shape, dtype and every byte.

    Any edit changes it (unlike a strided sample plus the sum, which an edit that keeps the sum
    and misses the sample, e.g. 200 label pixels erased and 200 painted elsewhere, left
    unchanged). Arrays above 64 MiB are hashed in 16 MiB chunks on up to 4 threads (hashlib
    releases the GIL) and the chunk digests hashed again. SHA-256 rather than blake2b: CPUs
    with SHA extensions hash it 2x faster. Measured on the loaded 2-core development machine,
    a 512 x 512 x 300 float32 volume (300 MiB): 0.5 s (blake2b 1.5 s; the sampled key it
    replaces took 2.7 s, its float64 sum copied the volume); its uint8 labels: 0.13 s. One
    model run on such a volume takes minutes there.
    """
    arr = np.ascontiguousarray(np.asarray(array))
    digest = hashlib.sha256(f"{arr.shape}|{arr.dtype.str}|".encode())
    if arr.dtype.hasobject:  # no bytes to hash: the values' text (never an image or labels)
        digest.update(repr(arr.tolist()).encode())
        return digest.hexdigest()
    data = memoryview(arr.reshape(-1).view(np.uint8))
    if len(data) <= 4 * _CHUNK:
        digest.update(data)
        return digest.hexdigest()
    chunks = [data[i : i + _CHUNK] for i in range(0, len(data), _CHUNK)]
    with ThreadPoolExecutor(max_workers=min(4, os.cpu_count() or 1)) as pool:
        for part in pool.map(_chunk_digest, chunks):
            digest.update(part)
    return digest.hexdigest()


def _chunk_digest(chunk: memoryview) -> bytes:
    return hashlib.sha256(chunk).digest()


def result_nbytes(value: Any) -> int:
    """The bytes of the arrays a result holds (and so keeps alive while cached).

    Walks dataclasses, mappings, lists, tuples and sets; counts each numpy array's buffer once
    (a view counts its whole base array, which it keeps alive) and torch tensors' storages.
    Other objects count 0 (a view holds names, numbers and a few small objects besides).
    """
    seen: set[int] = set()
    stack = [value]
    total = 0
    while stack:
        obj = stack.pop()
        if obj is None or isinstance(obj, (str, bytes, int, float, complex)) or id(obj) in seen:
            continue
        seen.add(id(obj))
        if isinstance(obj, np.ndarray):
            base = obj
            while isinstance(base.base, np.ndarray):
                base = base.base
            if base is obj or id(base) not in seen:
                seen.add(id(base))
                total += base.nbytes
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            stack.extend(getattr(obj, f.name) for f in dataclasses.fields(obj))
        elif isinstance(obj, Mapping):
            stack.extend(obj.values())
        elif isinstance(obj, (list, tuple, set, frozenset)):
            stack.extend(obj)
        elif hasattr(obj, "untyped_storage"):  # a torch tensor
            total += int(obj.untyped_storage().nbytes())
    return total


class ResultCache:
    """An LRU cache of analysis results bounded in bytes and items (thread-safe; revisiting a
    setting is instant).

    A result's size is :func:`result_nbytes` (its arrays). Storing one evicts the least recently
    used results until both bounds hold; a result larger than ``max_bytes`` on its own is not
    stored (it would evict everything and still not fit).

    Args:
        max_items: results kept at most.
        max_bytes: bytes of results kept at most (default :data:`DEFAULT_CACHE_BYTES`; 0 keeps
            nothing).
        sizer: a result's size in bytes (default :func:`result_nbytes`).
    """

    def __init__(
        self,
        max_items: int = 24,
        max_bytes: int = DEFAULT_CACHE_BYTES,
        sizer: Callable[[Any], int] = result_nbytes,
    ) -> None:
        _check_bounds(max_items, max_bytes)
        self.max_items = max_items
        self.max_bytes = max_bytes
        self._sizer = sizer
        self._items: OrderedDict[Hashable, tuple[Any, int]] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()
        self.hits = 0
        self.misses = 0
        self.evictions = 0

    def get(self, key: Hashable) -> Any | None:
        """The cached result of ``key`` (marked recently used), or ``None``."""
        with self._lock:
            if key in self._items:
                self._items.move_to_end(key)
                self.hits += 1
                return self._items[key][0]
            self.misses += 1
            return None

    def put(self, key: Hashable, value: Any) -> bool:
        """Store a result, evicting the least recently used beyond the bounds.

        Returns:
            Whether it was stored (``False``: larger than ``max_bytes`` on its own).
        """
        size = int(self._sizer(value))
        with self._lock:
            self._drop(key)
            if size > self.max_bytes:
                return False
            self._items[key] = (value, size)
            self._bytes += size
            self._evict()
            return True

    def resize(self, max_bytes: int | None = None, max_items: int | None = None) -> None:
        """Change the bounds (``None``: unchanged), evicting what no longer fits."""
        with self._lock:
            max_bytes = self.max_bytes if max_bytes is None else int(max_bytes)
            max_items = self.max_items if max_items is None else int(max_items)
            _check_bounds(max_items, max_bytes)
            self.max_bytes, self.max_items = max_bytes, max_items
            self._evict()

    @property
    def nbytes(self) -> int:
        """Bytes of the results held."""
        with self._lock:
            return self._bytes

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
            self._bytes = 0

    def _drop(self, key: Hashable) -> None:
        entry = self._items.pop(key, None)
        if entry is not None:
            self._bytes -= entry[1]

    def _evict(self) -> None:
        while self._items and (len(self._items) > self.max_items or self._bytes > self.max_bytes):
            _, (_, size) = self._items.popitem(last=False)
            self._bytes -= size
            self.evictions += 1


def _check_bounds(max_items: int, max_bytes: int) -> None:
    if max_items < 1:
        raise ValueError(f"max_items must be >= 1, got {max_items}")
    if max_bytes < 0:
        raise ValueError(f"max_bytes must be >= 0, got {max_bytes}")


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
