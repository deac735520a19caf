"""Bundled UNet / VQ-UNet pairs, loaded by name, and pairs from a user's own files.

>>> from vqseg_core.pretrained import list_pairs, load_pair
>>> pair = load_pair("chest-xray")                                # doctest: +SKIP
>>> masks = pair.predict(image.array, spacing=image.spacing)      # doctest: +SKIP
>>> masks["unet"].shape == image.array.shape                      # doctest: +SKIP
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from vqseg_core.pretrained.registry import PairInfo, list_pairs, load_pair, pair_info

if TYPE_CHECKING:
    from vqseg_core.pretrained.pair import ModelPair, load_pair_from_files

__all__ = ["ModelPair", "PairInfo", "list_pairs", "load_pair", "load_pair_from_files", "pair_info"]


def __getattr__(name: str) -> Any:
    # pair.py imports torch: loaded on first use, so that listing the bundled pairs stays cheap
    if name in ("ModelPair", "load_pair_from_files"):
        from vqseg_core.pretrained import pair

        return getattr(pair, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
