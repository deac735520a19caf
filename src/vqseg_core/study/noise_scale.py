"""The noise scale, shown: one image at every level of each kind, and which of our levels
matches a drop the poster reports.

The poster's Table 3 gives the chest UNet's lung Dice as 0.95 at 0 % and 0.95 at 30 % Gaussian
noise: a drop below 0.005 (the table rounds to two decimals). In this project's definition
(``x + N(0, (p/100)^2)`` on the [0, 1] image, clipped) a UNet loses that much far earlier.
:func:`matching_level` finds the level (linear between the evaluated levels) at which the
reference arm's mean clean-to-noisy drop reaches a given drop, i.e. where the poster's 30 %
sits on our scale.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

__all__ = ["POSTER_CHEST_DROP", "matching_level", "noise_scale_figure"]

POSTER_CHEST_DROP = 0.005
"""The largest lung-Dice drop that the poster's Table 3 prints as 0.95 -> 0.95 (chest, UNet,
0 -> 30 % Gaussian): anything below half of the last printed digit."""


def matching_level(levels: Sequence[float], drops: Sequence[float], drop: float) -> float | None:
    """The first level where ``drops`` (mean clean-minus-noisy Dice, by level) reaches ``drop``,
    interpolated linearly between evaluated levels; ``None`` when it never does."""
    pairs = sorted(zip(levels, drops, strict=True))
    prev_level, prev_drop = pairs[0]
    if prev_drop >= drop:
        return float(prev_level)
    for level, value in pairs[1:]:
        if value >= drop:
            t = (drop - prev_drop) / (value - prev_drop) if value != prev_drop else 0.0
            return float(prev_level + t * (level - prev_level))
        prev_level, prev_drop = level, value
    return None


def noise_scale_figure(
    image: np.ndarray,
    kinds: Sequence[str],
    levels: Sequence[float],
    path: Path,
    *,
    seed: int = 0,
    title: str = "",
) -> Path:
    """One row per kind, one column per level: ``image`` (in [0, 1]) corrupted as evaluated."""
    from vqseg_core.evaluation.plots import _pyplot
    from vqseg_core.perturb import corrupt

    plt = _pyplot()
    fig, axes = plt.subplots(
        len(kinds), len(levels), figsize=(1.6 * len(levels), 1.7 * len(kinds)), dpi=80,
        squeeze=False,
    )  # fmt: skip
    for r, kind in enumerate(kinds):
        for c, level in enumerate(levels):
            ax = axes[r][c]
            ax.imshow(corrupt(image, kind, float(level), seed=seed), cmap="gray", vmin=0, vmax=1)
            ax.set_xticks([])
            ax.set_yticks([])
            if r == 0:
                ax.set_title(f"{level:g} %", fontsize=9)
            if c == 0:
                ax.set_ylabel(kind.replace("_", " "), fontsize=9)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path
