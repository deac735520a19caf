"""Bundled UNet / VQ-UNet pairs, loaded by name, and pairs from a user's own files.

>>> from vqseg_core.pretrained import list_pairs, load_pair
>>> pair = load_pair("chest-xray")                                # doctest: +SKIP
>>> masks = pair.predict(image.array, spacing=image.spacing)      # doctest: +SKIP
>>> masks["unet"].shape == image.array.shape                      # doctest: +SKIP
"""

from vqseg_core.pretrained.pair import ModelPair, load_pair_from_files
from vqseg_core.pretrained.registry import PairInfo, list_pairs, load_pair, pair_info

__all__ = ["ModelPair", "PairInfo", "list_pairs", "load_pair", "load_pair_from_files", "pair_info"]
