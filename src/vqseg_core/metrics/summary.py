"""Summary statistics that say how many values they ignored."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import asdict, dataclass

import numpy as np


@dataclass(frozen=True)
class Summary:
    """Mean, spread and confidence interval of the finite values of a sample.

    Attributes:
        mean: mean of the non-nan values (``nan`` if there are none).
        sd: sample standard deviation (``ddof=1``; ``nan`` when ``n < 2``).
        ci_low: lower end of the two-sided Student-t confidence interval of the mean.
        ci_high: upper end of that interval.
        n: number of values used.
        n_nan: number of ``nan`` values ignored.
        confidence: the interval's confidence level.
    """

    mean: float
    sd: float
    ci_low: float
    ci_high: float
    n: int
    n_nan: int
    confidence: float = 0.95

    def to_dict(self) -> dict[str, float | int]:
        """A JSON-able dict (``nan`` stays a float ``nan``)."""
        return asdict(self)


def summarize(values: Iterable[float], *, confidence: float = 0.95) -> Summary:
    """Summarise a sample, ignoring ``nan`` values explicitly and counting them.

    Args:
        values: numbers; ``nan`` marks an undefined score (e.g. HD95 of an empty mask).
        confidence: level of the Student-t interval for the mean, in (0, 1).

    Returns:
        :class:`Summary`.

    Raises:
        ValueError: an infinite value (it would silently dominate a mean), or a bad ``confidence``.
    """
    if not 0 < confidence < 1:
        raise ValueError(f"confidence must be in (0, 1), got {confidence}")
    a = np.asarray(list(values), dtype=np.float64).ravel()
    if np.isinf(a).any():
        raise ValueError("values contain inf; map undefined scores to nan and count them instead")
    finite = a[~np.isnan(a)]
    n, n_nan = int(finite.size), int(a.size - finite.size)
    nan = math.nan
    if n == 0:
        return Summary(nan, nan, nan, nan, 0, n_nan, confidence)
    mean = float(finite.mean())
    if n == 1:
        return Summary(mean, nan, nan, nan, 1, n_nan, confidence)
    from scipy import stats  # heavy; only needed here

    sd = float(finite.std(ddof=1))
    half = float(stats.t.ppf(0.5 + confidence / 2, n - 1)) * sd / math.sqrt(n)
    return Summary(mean, sd, mean - half, mean + half, n, n_nan, confidence)
