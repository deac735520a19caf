"""The explorer's result cache (issue #16, item 4): keys over whole arrays, a bound in bytes."""

from __future__ import annotations

import dataclasses
import hashlib

import numpy as np
import pytest

from napari_vqseg.explorer import state
from napari_vqseg.explorer.session import ExplorerSession
from napari_vqseg.explorer.settings import CACHE_MIB_ENV, ExplorerSettings
from napari_vqseg.explorer.state import ResultCache, array_fingerprint, result_nbytes


def disc_image(size: int) -> tuple[np.ndarray, np.ndarray]:
    """A disc image like the tiny pair's data (``tests/napari_vqseg/conftest.py``) and its
    labels (1 ring, 2 core), at any size."""
    yy, xx = np.mgrid[:size, :size]
    c, r = size / 2, size * 0.22
    label = (((yy - c) ** 2 + (xx - c) ** 2) < r * r).astype(np.uint8)
    label[(np.abs(yy - c) < r / 3) & (np.abs(xx - c) < r / 3)] = 2
    noise = 0.03 * np.random.default_rng(1).normal(size=label.shape)
    image = 0.2 + 0.3 * (label > 0) + 0.3 * (label == 2) + noise
    return np.clip(image, 0, 1).astype(np.float32), label


def _sampled_fingerprint(array: np.ndarray) -> str:
    """The key before the fix: a strided sample of the values plus their sum."""
    flat = np.asarray(array).reshape(-1)
    step = max(1, flat.size // 65536)
    digest = hashlib.blake2b(np.ascontiguousarray(flat[::step]).tobytes(), digest_size=8)
    digest.update(f"{array.shape}{array.dtype}{flat.size}".encode())
    digest.update(np.float64(flat.astype(np.float64).sum()).tobytes())
    return digest.hexdigest()


def _erase_and_paint(gt: np.ndarray, n: int = 200) -> np.ndarray:
    """``gt`` with ``n`` label-1 pixels erased and ``n`` background pixels painted 1, all at
    flat positions the strided sample skips (so the sample and the sum are unchanged)."""
    edited = gt.copy()
    flat = edited.reshape(-1)
    step = max(1, flat.size // 65536)
    assert step > 1, "an image this small is sampled whole"
    skipped = np.arange(flat.size) % step == 1
    erase = np.flatnonzero(skipped & (flat == 1))[:n]
    paint = np.flatnonzero(skipped & (flat == 0))[-n:]
    assert len(erase) == len(paint) == n
    flat[erase], flat[paint] = 0, 1
    return edited


def test_an_edit_that_keeps_the_sum_and_misses_the_sample_changes_the_key() -> None:
    _, gt = disc_image(512)
    edited = _erase_and_paint(gt)
    assert int((edited != gt).sum()) == 400 and edited.sum() == gt.sum()
    assert _sampled_fingerprint(edited) == _sampled_fingerprint(gt)  # the reported collision
    assert array_fingerprint(edited) != array_fingerprint(gt)


def test_the_key_is_the_content_shape_and_dtype() -> None:
    a = np.arange(24, dtype=np.float32).reshape(4, 6)
    assert array_fingerprint(a) == array_fingerprint(a.copy())
    assert array_fingerprint(a.T) == array_fingerprint(np.ascontiguousarray(a.T))  # any layout
    assert array_fingerprint(a) != array_fingerprint(a.reshape(6, 4))
    assert array_fingerprint(a) != array_fingerprint(a.astype(np.float64))
    assert array_fingerprint(a) != array_fingerprint(a.view(np.int32))  # same bytes, other type
    b = a.copy()
    b[3, 5] = np.nextafter(b[3, 5], np.float32(100))  # one bit, at the very end
    assert array_fingerprint(a) != array_fingerprint(b)


def test_large_arrays_are_hashed_in_chunks_and_every_chunk_counts(monkeypatch) -> None:
    monkeypatch.setattr(state, "_CHUNK", 1000)  # 40000 bytes: 40 chunks on several threads
    a = np.random.default_rng(0).normal(size=10_000).astype(np.float32)
    key = array_fingerprint(a)
    assert key == array_fingerprint(a.copy())
    for i in (0, 4321, a.size - 1):
        b = a.copy()
        b[i] += 1
        assert array_fingerprint(b) != key


@dataclasses.dataclass(frozen=True)
class _Result:
    labels: np.ndarray
    parts: dict
    note: str = ""


def _result(n_bytes: int, fill: int = 0) -> _Result:
    return _Result(np.full(n_bytes, fill, np.uint8), {})


def test_result_size_counts_every_array_once() -> None:
    base = np.zeros(1000, np.uint8)
    value = _Result(np.zeros(300, np.float32), {"a": base[:10], "b": [base[10:20], (base,)]})
    assert result_nbytes(value) == 1200 + 1000  # views count their base, once
    assert result_nbytes(None) == 0 and result_nbytes({"x": 1, "y": "text"}) == 0


def test_results_under_the_bound_stay_cached() -> None:
    cache = ResultCache(max_items=24, max_bytes=10_000)
    for i in range(9):
        assert cache.put(("level", i), _result(1000, i))
    assert len(cache) == 9 and cache.nbytes == 9000 and cache.evictions == 0
    assert all(cache.get(("level", i)).labels[0] == i for i in range(9))


def test_the_byte_bound_evicts_the_least_recently_used() -> None:
    cache = ResultCache(max_items=24, max_bytes=3000)
    for i in range(3):
        cache.put(i, _result(1000, i))
    assert cache.get(0) is not None  # 1 is now the least recently used
    cache.put(3, _result(1500))
    assert 1 not in cache and 2 not in cache and {0, 3} <= {k for k in range(4) if k in cache}
    assert cache.nbytes == 2500 and cache.evictions == 2
    cache.put(0, _result(500))  # a key stored again replaces its old size
    assert cache.nbytes == 2000 and len(cache) == 2


def test_a_result_larger_than_the_bound_is_not_kept() -> None:
    cache = ResultCache(max_bytes=3000)
    cache.put("small", _result(1000))
    assert not cache.put("huge", _result(5000))
    assert "huge" not in cache and "small" in cache and cache.nbytes == 1000
    assert not ResultCache(max_bytes=0).put("any", _result(1))


def test_resize_evicts_what_no_longer_fits() -> None:
    cache = ResultCache(max_bytes=10_000)
    for i in range(5):
        cache.put(i, _result(1000))
    cache.resize(max_bytes=2500)
    assert [i for i in range(5) if i in cache] == [3, 4] and cache.nbytes == 2000
    with pytest.raises(ValueError, match="max_bytes"):
        cache.resize(max_bytes=-1)


def test_cache_size_is_a_setting(monkeypatch) -> None:
    assert ExplorerSettings().cache_mib == 2048
    s = ExplorerSettings(cache_mib=64)
    assert ExplorerSettings.from_dict(s.to_dict()) == s
    assert ExplorerSettings.from_dict({"kind": "gaussian"}).cache_mib == 2048  # older files
    monkeypatch.setenv(CACHE_MIB_ENV, "512")
    assert ExplorerSettings().cache_mib == 512
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="cache_mib"):
            ExplorerSettings(cache_mib=bad)


# --- in the session ---------------------------------------------------------------------------


def _run(session: ExplorerSession, step, run_job):
    """Run a started analysis job as a worker would; the step that shows its view."""
    assert step.action == "start", step
    shown = session.accept(step.job, run_job(step.job))
    session.finished(step.job)
    assert shown.action == "show", shown
    return shown


@pytest.fixture
def session(tiny_trio) -> ExplorerSession:
    s = ExplorerSession()
    s.add_set(tiny_trio)
    return s


def test_dice_is_recomputed_after_an_edit_that_keeps_the_sum(session, tiny_trio, run_job) -> None:
    image, gt = disc_image(512)
    settings = ExplorerSettings(models=tiny_trio.name, keys=("unet", "vqunet"), n_draws=1)
    first = _run(session, session.analyse(settings, image, (0.5, 0.5), gt), run_job).view
    assert session.analyse(settings, image, (0.5, 0.5), gt).action == "show"  # cached
    edited = _erase_and_paint(gt)
    after = session.analyse(settings, image, (0.5, 0.5), edited)  # not the stale cached Dice
    second = _run(session, after, run_job).view
    dice = [{c: s["dice"] for c, s in v.models["unet"].scores.items()} for v in (first, second)]
    assert dice[0] != dice[1]
    assert np.array_equal(first.models["unet"].labels, second.models["unet"].labels)


def test_the_session_applies_the_settings_cache_bound(session, tiny_trio, disc, run_job) -> None:
    settings = ExplorerSettings(models=tiny_trio.name, keys=("unet", "vqunet"), n_draws=1)
    step = session.analyse(settings.with_(cache_mib=0), disc[0], (0.5, 0.5), disc[1])
    _run(session, step, run_job)
    assert len(session.cache) == 0 and session.view is not None  # shown, not kept
    _run(session, session.analyse(settings, disc[0], (0.5, 0.5), disc[1]), run_job)
    assert len(session.cache) == 1 and 0 < session.cache.nbytes <= session.cache.max_bytes
    assert session.cache.max_bytes == 2048 * 2**20
