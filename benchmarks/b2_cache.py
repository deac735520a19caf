"""B2: revisiting a level already computed (the explorer's result cache) vs recomputing it.

Revisit: what the explorer's session does before any inference — the request from the
settings, its cache key (the model set's id, the corruption and fingerprints of the image and
ground-truth arrays: :meth:`napari_vqseg.explorer.session.ExplorerSession.cache_key`) and a
:class:`~napari_vqseg.explorer.state.ResultCache` lookup, holding a few other levels too.
Recompute: :func:`vqseg_core.robustness.analyse` of the same settings (product fast path).
Accuracy: the cached result is the one computed for that key, and a recomputation gives the
same label maps.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from benchmarks.common import chest_xray, interleaved_medians, result, torch_info

ID = "B2"
TARGET = 50.0


def run(quick: bool) -> dict[str, Any]:
    """Time a cache hit (key + lookup) against recomputing the same level."""
    from napari_vqseg.explorer.session import ExplorerSession
    from napari_vqseg.explorer.settings import ExplorerSettings
    from napari_vqseg.explorer.state import ResultCache
    from vqseg_core.pretrained import load_pair
    from vqseg_core.robustness import analyse

    image, mask, spacing = chest_xray()
    pair = load_pair("chest-xray")
    session = ExplorerSession()
    name = session.add_set(pair)
    cache = ResultCache()
    base = ExplorerSettings(models=name, kind="gaussian", seed=0, n_draws=4)

    def compute(settings: ExplorerSettings):
        return analyse(
            pair,
            image,
            spacing,
            kind=settings.kind,
            level=settings.level,
            seed=settings.seed,
            n_draws=settings.n_draws,
            ground_truth=mask,
            device="cpu",
        )

    def key_of(settings: ExplorerSettings):
        return session.cache_key(session.request(settings, image, spacing), mask)

    levels = (0.0, 5.0, 10.0) if quick else (0.0, 5.0, 10.0, 15.0, 20.0, 30.0)
    stored = {}
    for level in levels:  # the user moved the slider over these levels
        settings = base.with_(level=level)
        stored[level] = compute(settings)
        cache.put(key_of(settings), stored[level])
    revisit = base.with_(level=10.0)

    def hit():
        value = cache.get(key_of(revisit))
        assert value is not None
        return value

    timing = interleaved_medians(
        {"hit": hit, "recompute": lambda: compute(revisit)}, 5 if quick else 15
    )
    fresh = compute(revisit)
    cached = hit()
    same_labels = all(
        np.array_equal(cached.models[k].labels, fresh.models[k].labels) for k in pair.keys
    )
    ratio = timing["recompute"]["median_s"] / timing["hit"]["median_s"]
    accuracy = {
        "cached_is_result_of_key": cached is stored[10.0],
        "recompute_labels_equal": bool(same_labels),
        "cache_hits": cache.hits,
        "cache_misses": cache.misses,
    }
    accuracy["ok"] = bool(accuracy["cached_is_result_of_key"] and same_labels)
    return result(
        ID,
        "revisiting a computed level (explorer cache: key + lookup)",
        "recomputing it (analyse, product fast path)",
        ratio,
        TARGET,
        accuracy,
        {"timing": timing, "levels_cached": list(levels), "torch": torch_info()},
    )
