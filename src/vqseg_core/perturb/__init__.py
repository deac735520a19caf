"""Image corruptions with common random numbers, for robustness curves.

Every corruption works in the [0, 1] intensity frame (map raw images with
:func:`to_unit_range` first), is deterministic given ``(kind, level, seed, spacing)`` and keeps
the random pattern fixed across levels, so a level sweep changes strength, not noise.

Example:
    >>> import numpy as np
    >>> from vqseg_core.perturb import corrupt
    >>> y = corrupt(np.full((8, 8), 0.5), "gaussian", 10, seed=3)
"""

from vqseg_core.perturb.corruption import Corruption, corrupt
from vqseg_core.perturb.frames import UnitRangeMapping, to_unit_range
from vqseg_core.perturb.registry import (
    PAPER_KINDS,
    REGISTRY,
    CorruptionSpec,
    get_spec,
    list_corruptions,
)

__all__ = [
    "PAPER_KINDS",
    "REGISTRY",
    "Corruption",
    "CorruptionSpec",
    "UnitRangeMapping",
    "corrupt",
    "get_spec",
    "list_corruptions",
    "to_unit_range",
]
