"""Work on one image that no corruption setting changes, kept between the runs of that image.

A slider move changes the corruption, never the image: the image's preprocessing (the recipe's
resampling and intensity step), the clean image's latents (code flips compare every draw with
them) and, at a corruption's identity level, the labels of the clean image are the same at
every level. An :class:`ImageMemo` keeps them in a store that its owner bounds (the explorer:
a :class:`~napari_vqseg.explorer.state.ResultCache`, least recently used first, in bytes and
items), keyed on the image's content id (SHA-256 of the whole array), its spacing, and what the
work depends on: the recipe; the network's weights (its SHA-256), device and memory format; the
label pass's precision; the axial slice of a 2D slice model's latents on a volume.

The values are exactly what a run without the memo computes (the same functions on the same
inputs), so a run with it gives the same view, bit for bit.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Hashable, Sequence
from typing import Any, Protocol

import numpy as np

from vqseg_core.engine.draws import CancelFn, CleanEncoding, encode_clean
from vqseg_core.engine.frame import PreparedInput, prepare

__all__ = ["ImageMemo", "Store", "image_id"]


class Store(Protocol):
    """Where an :class:`ImageMemo` keeps its values (its owner bounds it)."""

    def get(self, key: Hashable) -> Any | None:
        """The value of ``key``, or ``None``."""

    def put(self, key: Hashable, value: Any) -> Any:
        """Keep ``value`` under ``key`` (the store may drop it or others to stay bounded)."""


def image_id(array: np.ndarray) -> str:
    """A content id of a whole array: SHA-256 over its shape, dtype and every byte."""
    arr = np.ascontiguousarray(np.asarray(array))
    digest = hashlib.sha256(f"{arr.shape}|{arr.dtype.str}|".encode())
    digest.update(memoryview(arr.reshape(-1).view(np.uint8)))
    return digest.hexdigest()


class ImageMemo:
    """The corruption-independent work on one image, kept in ``store`` between runs.

    Args:
        store: ``get`` / ``put`` by key (e.g. a bounded LRU cache shared by several images).
        image: the content id of the image the runs use (:func:`image_id`, or the caller's own
            SHA-256 of the whole array); a run on another image must not use this memo.
        spacing: mm per axis as the request gives it (``None``: unknown).
    """

    def __init__(self, store: Store, image: str, spacing: Sequence[float] | None = None) -> None:
        self.store = store
        self.image = image
        self.spacing = None if spacing is None else tuple(float(s) for s in spacing)
        self.hits = 0
        self.misses = 0

    def matches(self, image: str, spacing: Sequence[float] | None) -> bool:
        """Whether this memo is for the image with content id ``image`` and ``spacing``."""
        other = None if spacing is None else tuple(float(s) for s in spacing)
        return self.image == image and self.spacing == other

    def _get(self, key: tuple, compute: Callable[[], Any]) -> Any:
        full = (self.image, self.spacing, *key)
        value = self.store.get(full)
        if value is not None:
            self.hits += 1
            return value
        self.misses += 1
        value = compute()
        self.store.put(full, value)
        return value

    def prepared(self, recipe: Any, image: np.ndarray) -> PreparedInput:
        """The image in ``recipe``'s model frame (:func:`~vqseg_core.engine.frame.prepare`)."""
        return self._get(("prepared", _recipe_key(recipe)),
                         lambda: prepare(recipe, image, self.spacing))  # fmt: skip

    def clean_encoding(
        self,
        member: Any,
        predictor: Any,
        clean: np.ndarray,
        z: int | None = None,
        cancel: CancelFn | None = None,
    ) -> CleanEncoding:
        """The clean image's latents under ``member``'s network
        (:func:`~vqseg_core.engine.draws.encode_clean`); ``z``: the model-grid slice of a 2D
        slice model on a volume (``clean`` is that slice)."""
        key = ("clean-latents", member.sha256, str(predictor.device),
               str(predictor.memory_format), z)  # fmt: skip
        return self._get(key, lambda: encode_clean(predictor, clean, cancel))

    def clean_labels(
        self, member: Any, predictor: Any, compute: Callable[[], np.ndarray]
    ) -> np.ndarray:
        """The labels of the clean image under ``member``'s network at the predictor's
        precision (what draw 0 decodes to at a corruption's identity level)."""
        key = ("clean-labels", member.sha256, str(predictor.device),
               str(getattr(predictor, "amp", None)), str(predictor.memory_format),
               str(getattr(predictor, "backend", "")))  # fmt: skip
        return self._get(key, compute)


def _recipe_key(recipe: Any) -> Hashable:
    try:
        hash(recipe)
    except TypeError:
        return repr(recipe)
    return recipe
