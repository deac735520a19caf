"""The session's bookkeeping without Qt or torch: fingerprints, LRU cache, jobs."""

from __future__ import annotations

import numpy as np

from napari_vqseg.explorer.state import JobTracker, ResultCache, array_fingerprint


def test_fingerprint_tracks_content() -> None:
    a = np.zeros((40, 40), np.float32)
    b = a.copy()
    assert array_fingerprint(a) == array_fingerprint(b)
    b[10, 10] = 1
    assert array_fingerprint(a) != array_fingerprint(b)
    assert array_fingerprint(a) != array_fingerprint(a.reshape(20, 80))


def test_cache_hits_on_revisit_and_evicts_least_recent() -> None:
    cache = ResultCache(max_items=2)
    keys = [("set", "gaussian", level) for level in (0.0, 10.0, 20.0)]
    cache.put(keys[0], "r0")
    cache.put(keys[1], "r1")
    assert cache.get(keys[0]) == "r0"  # revisit: instant
    cache.put(keys[2], "r2")  # evicts keys[1], the least recently used
    assert keys[1] not in cache and cache.get(keys[0]) == "r0" and len(cache) == 2
    assert cache.hits == 2


def test_starting_a_job_cancels_the_older_one_of_its_kind() -> None:
    jobs = JobTracker()
    first = jobs.start("a")
    sweep = jobs.start("s", kind="sweep")
    second = jobs.start("b")
    assert first.cancel() and not second.cancel() and not sweep.cancel()
    assert not jobs.finish(first)  # stale: not shown
    assert jobs.finish(second)
    assert jobs.cancel_all() == 1 and sweep.cancelled
    assert [j.id for j in jobs.running] == [sweep.id]


def test_live_finds_only_a_running_uncancelled_job_of_that_kind_and_key() -> None:
    jobs = JobTracker()
    job = jobs.start("k")
    assert jobs.live("k", "analyse") is job and jobs.busy
    assert jobs.live("k", "sweep") is None and jobs.live("other", "analyse") is None
    jobs.cancel_all()
    assert jobs.live("k", "analyse") is None and not jobs.busy
