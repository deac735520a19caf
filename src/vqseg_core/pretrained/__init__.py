"""Bundled model sets, loaded by name, and pairs from a user's own files.

>>> from vqseg_core.pretrained import list_sets, load_set
>>> models = load_set("chest-xray")                               # doctest: +SKIP
>>> masks = models.predict(image.array, spacing=image.spacing)    # doctest: +SKIP
>>> masks["unet"].shape == image.array.shape                      # doctest: +SKIP

``load_pair(name)`` / ``load_pair_from_files(unet, vqunet)`` (the UNet and VQ-UNet of a set)
keep working for code written against earlier versions.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vqseg_core.pretrained.registry import (
    PairInfo,
    SetInfo,
    list_pairs,
    list_sets,
    load_pair,
    load_set,
    pair_info,
    set_info,
)

if TYPE_CHECKING:
    from vqseg_core.pretrained.pair import ModelPair, load_pair_from_files

__all__ = [
    "ModelPair",
    "PairInfo",
    "SetInfo",
    "list_pairs",
    "list_sets",
    "load_pair",
    "load_pair_from_files",
    "load_set",
    "pair_info",
    "set_info",
]


def __getattr__(name: str) -> Any:
    # pair.py imports the model set loader: loaded on first use, so listing stays cheap
    if name in ("ModelPair", "load_pair_from_files"):
        from vqseg_core.pretrained import pair

        return getattr(pair, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
