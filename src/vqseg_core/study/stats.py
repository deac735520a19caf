"""Intervals over seeds and cases: a two-way (crossed) bootstrap.

A study scores every case under every seed, so seeds and cases are *crossed*, not nested: the
same held-out images are seen by every seed's network. Each bootstrap replicate resamples the
seeds with replacement and, independently, the cases with replacement, and takes the mean of
the resampled ``seeds x cases`` table. The percentile interval of these means reflects both
the training-seed variation and the case variation (the crossed "pigeonhole" bootstrap of
Owen, 2007). With fewer than :data:`MIN_SEEDS` seeds no interval is reported: two seeds say
nothing about the spread of a third.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = ["MIN_SEEDS", "SeedCaseStat", "crossed_bootstrap"]

MIN_SEEDS = 3
"""Intervals need at least this many seeds."""


@dataclass(frozen=True)
class SeedCaseStat:
    """The mean of a ``seeds x cases`` table, its interval, and the per-seed means.

    Attributes:
        mean: mean over seeds of the mean over cases (NaN cells ignored).
        low, high: the 95 % crossed-bootstrap interval (NaN with fewer than 3 seeds).
        seed_means: the mean over cases of each seed.
        n_seeds, n_cases: the table's shape.
    """

    mean: float
    low: float
    high: float
    seed_means: tuple[float, ...]
    n_seeds: int
    n_cases: int

    @property
    def positive_seeds(self) -> int:
        """Seeds whose mean is above 0 (for a table of differences)."""
        return int(sum(m > 0 for m in self.seed_means))

    @property
    def has_interval(self) -> bool:
        return bool(np.isfinite(self.low))


def crossed_bootstrap(
    table: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> SeedCaseStat:
    """Mean and crossed-bootstrap interval of ``table`` ``(seeds, cases)``; NaNs are ignored.

    Raises:
        ValueError: ``table`` is not 2-D or has no finite value.
    """
    table = np.asarray(table, dtype=np.float64)
    if table.ndim != 2:
        raise ValueError(f"need a (seeds, cases) table, got shape {table.shape}")
    if not np.isfinite(table).any():
        raise ValueError("the table has no finite value")
    n_seeds, n_cases = table.shape
    seed_means = tuple(float(np.nanmean(row)) if np.isfinite(row).any() else float("nan")
                       for row in table)  # fmt: skip
    mean = float(np.nanmean(seed_means))
    low = high = float("nan")
    if n_seeds >= MIN_SEEDS:
        rng = np.random.default_rng(seed)
        values = np.where(np.isfinite(table), table, 0.0)
        present = np.isfinite(table).astype(np.float64)
        s = rng.integers(n_seeds, size=(n_boot, n_seeds))
        c = rng.integers(n_cases, size=(n_boot, n_cases))
        # weights of each seed / case in each replicate (counts of how often it was drawn)
        ws = np.zeros((n_boot, n_seeds))
        np.add.at(ws, (np.arange(n_boot)[:, None], s), 1.0)
        wc = np.zeros((n_boot, n_cases))
        np.add.at(wc, (np.arange(n_boot)[:, None], c), 1.0)
        total = np.einsum("bs,sc,bc->b", ws, values, wc)
        count = np.einsum("bs,sc,bc->b", ws, present, wc)
        with np.errstate(invalid="ignore", divide="ignore"):
            means = total / count
        alpha = (1.0 - level) / 2.0
        low, high = (float(v) for v in np.nanquantile(means, [alpha, 1.0 - alpha]))
    return SeedCaseStat(mean, low, high, seed_means, n_seeds, n_cases)
