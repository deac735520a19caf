"""Qt-free state of the Robustness Explorer: settings, the result cache and job bookkeeping.

The widget turns every control change into an :class:`ExplorerSettings`; the cache key of a
result is ``(pair, kind, level, seed, n_draws, image, ground truth)``; each inference is a
:class:`Job` whose ``cancelled`` flag the worker polls through ``job.cancel`` (a callable), and
starting a new job cancels every older one (stale work is dropped, never shown).
"""

from __future__ import annotations

import hashlib
import itertools
import threading
from collections import OrderedDict
from collections.abc import Hashable
from dataclasses import asdict, dataclass, field, replace
from typing import Any

import numpy as np

FROM_FILES = "From files..."
SETTINGS_VERSION = 1


@dataclass(frozen=True)
class ExplorerSettings:
    """Everything the user chose, JSON-able; the explorer view can be restored from it.

    Attributes:
        pair: a bundled pair name, or :data:`FROM_FILES`.
        pair_files: ``(unet export, vqunet export)`` when ``pair`` is :data:`FROM_FILES`.
        kind: corruption kind (a key of :data:`vqseg_core.perturb.REGISTRY`).
        level: corruption level in the kind's units.
        seed: seed of the noise draws.
        n_draws: number of noise draws for latent variance and code flips.
        device: ``"cpu"``, ``"cuda"`` or ``"mps"``.
        image_layer: name of the image layer analysed.
        gt_layer: name of the ground-truth Labels layer, or ``None``.
        side_by_side: grid mode with the UNet and VQ-UNet layers in two cells.
    """

    pair: str = ""
    pair_files: tuple[str, str] | None = None
    kind: str = "gaussian"
    level: float = 10.0
    seed: int = 0
    n_draws: int = 4
    device: str = "cpu"
    image_layer: str | None = None
    gt_layer: str | None = None
    side_by_side: bool = True

    def with_(self, **changes: Any) -> ExplorerSettings:
        """A copy with some fields changed."""
        return replace(self, **changes)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-able dict (see :meth:`from_dict`)."""
        data = asdict(self)
        data["pair_files"] = list(self.pair_files) if self.pair_files else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> ExplorerSettings:
        """Inverse of :meth:`to_dict`; unknown keys raise ``ValueError`` naming them."""
        known = set(cls.__dataclass_fields__)
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown explorer settings: {unknown}")
        values = dict(data)
        if values.get("pair_files"):
            values["pair_files"] = tuple(str(p) for p in values["pair_files"])
        if "level" in values:
            values["level"] = float(values["level"])
        for name in ("seed", "n_draws"):
            if name in values:
                values[name] = int(values[name])
        return cls(**values)


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


@dataclass(frozen=True)
class CacheKey:
    """What a result depends on: pair, corruption, draws and the two input arrays."""

    pair: str
    kind: str
    level: float
    seed: int
    n_draws: int
    image: str
    ground_truth: str | None = None


def pair_id(name: str, sha256: dict[str, str] | None) -> str:
    """A pair's identity in cache keys and reports: its name plus both weight hashes."""
    hashes = sha256 or {}
    return f"{name}:{hashes.get('unet', '')[:16]}:{hashes.get('vqunet', '')[:16]}"


def make_key(
    settings: ExplorerSettings, pair: str, image_id: str, gt_id: str | None = None
) -> CacheKey:
    """The cache key of ``settings`` applied to one image (and ground truth)."""
    return CacheKey(
        pair, settings.kind, round(float(settings.level), 6), int(settings.seed),
        int(settings.n_draws), image_id, gt_id,
    )  # fmt: skip


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
        """Forget everything (e.g. after a different pair was loaded)."""
        with self._lock:
            self._items.clear()


@dataclass
class Job:
    """One unit of background work; ``cancel`` is the callable handed to the core."""

    id: int
    key: Hashable
    kind: str = "analyse"
    cancelled: bool = False
    done: bool = False
    result: Any = field(default=None, repr=False)

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


def level_grid(minimum: float, maximum: float, identity: float, n: int = 7) -> list[float]:
    """``n`` levels for a sweep from the identity level to the far end of the kind's range."""
    if n < 2:
        raise ValueError(f"a sweep needs at least 2 levels, got {n}")
    end = maximum if abs(maximum - identity) >= abs(identity - minimum) else minimum
    return [float(v) for v in np.round(np.linspace(identity, end, n), 6)]
