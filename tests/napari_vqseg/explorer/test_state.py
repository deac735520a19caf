"""Explorer state without Qt: settings round trip, cache keys, LRU cache, job bookkeeping."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from napari_vqseg.explorer.state import (
    CacheKey,
    ExplorerSettings,
    JobTracker,
    ResultCache,
    array_fingerprint,
    level_grid,
    make_key,
)


def test_settings_round_trip_through_a_dict() -> None:
    s = ExplorerSettings(pair="From files...", pair_files=("a.json", "b.json"), kind="poisson", level=12.5,
                         seed=3, n_draws=8, device="cpu", image_layer="img", gt_layer="gt")  # fmt: skip
    assert ExplorerSettings.from_dict(s.to_dict()) == s


def test_unknown_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="bogus"):
        ExplorerSettings.from_dict({"bogus": 1})


@pytest.mark.parametrize(
    "change", [{"kind": "poisson"}, {"level": 11.0}, {"seed": 1}, {"n_draws": 5}]
)
def test_cache_key_changes_with_every_parameter(change) -> None:
    s = ExplorerSettings(kind="gaussian", level=10.0, seed=0, n_draws=4)
    assert make_key(s, "pair", "img") != make_key(s.with_(**change), "pair", "img")


def test_cache_key_changes_with_pair_image_and_ground_truth() -> None:
    s = ExplorerSettings()
    key = make_key(s, "pair", "img", "gt")
    assert key != make_key(s, "other", "img", "gt")
    assert key != make_key(s, "pair", "img2", "gt")
    assert key != make_key(s, "pair", "img", None)
    # view-only settings do not change the result
    assert key == make_key(s.with_(side_by_side=False, device="cuda"), "pair", "img", "gt")


def test_fingerprint_tracks_content() -> None:
    a = np.zeros((40, 40), np.float32)
    b = a.copy()
    assert array_fingerprint(a) == array_fingerprint(b)
    b[10, 10] = 1
    assert array_fingerprint(a) != array_fingerprint(b)
    assert array_fingerprint(a) != array_fingerprint(a.reshape(20, 80))


def test_cache_hits_on_revisit_and_evicts_least_recent() -> None:
    cache = ResultCache(max_items=2)
    keys = [CacheKey("p", "gaussian", float(level), 0, 4, "img") for level in (0, 10, 20)]
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


def test_level_grid_starts_at_identity() -> None:
    assert level_grid(0, 30, 0, 4) == [0.0, 10.0, 20.0, 30.0]
    assert level_grid(0.25, 4.0, 1.0, 3)[0] == 1.0
    assert dataclasses.is_dataclass(ExplorerSettings)
