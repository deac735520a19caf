"""Codebook usage and the poster's robustness bound r.

The poster claims a perturbation that moves a latent vector by less than ``r`` cannot change
its code, with ``r`` half the mean distance between each codebook vector and its nearest
neighbour. The authors' code logged a *squared* distance averaged over all codes, dead ones
included; here ``r`` is a plain L2 distance computed over the codes actually used (and, for
comparison, over all codes).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vqseg_core.models.quantizer import perplexity_from_counts


def code_counts(indices: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """Histogram of code indices.

    Args:
        indices: long tensor of any shape with values in ``[0, codebook_size)``.
        codebook_size: K.

    Returns:
        ``(K,)`` long tensor of counts.
    """
    if codebook_size <= 0:
        raise ValueError(f"codebook_size must be positive, got {codebook_size}")
    flat = indices.reshape(-1).long()
    if flat.numel() and (int(flat.min()) < 0 or int(flat.max()) >= codebook_size):
        raise ValueError(f"indices must lie in [0, {codebook_size})")
    return torch.bincount(flat, minlength=codebook_size)


def used_codes(indices: torch.Tensor, codebook_size: int) -> int:
    """Number of distinct codes that occur in ``indices``."""
    return int((code_counts(indices, codebook_size) > 0).sum())


def dead_codes(indices: torch.Tensor, codebook_size: int) -> torch.Tensor:
    """Sorted indices of the codes that never occur in ``indices`` (long tensor)."""
    return torch.nonzero(code_counts(indices, codebook_size) == 0).reshape(-1)


def perplexity(indices: torch.Tensor, codebook_size: int) -> float:
    """Perplexity of the code histogram of ``indices`` (see :func:`perplexity_from_counts`)."""
    return float(perplexity_from_counts(code_counts(indices, codebook_size)))


def bound_r(codebook: torch.Tensor, codes: torch.Tensor | None = None) -> float:
    """The poster's bound r: half the mean L2 distance from each code to its nearest other code.

    Args:
        codebook: ``(K, D)`` codebook.
        codes: optional long tensor of code ids to restrict to (e.g. the codes used on a
            dataset); the nearest neighbour is searched within the same set.

    Returns:
        r in the latent's units (plain L2, not squared); ``nan`` when fewer than two codes.
    """
    if codebook.ndim != 2:
        raise ValueError(f"codebook must have shape (K, D), got {tuple(codebook.shape)}")
    vectors = codebook.detach().float()
    if codes is not None:
        vectors = vectors[torch.unique(codes.reshape(-1).long())]
    if vectors.shape[0] < 2:
        return float("nan")
    dist = torch.cdist(vectors, vectors)
    dist.fill_diagonal_(float("inf"))
    return float(dist.min(dim=1).values.mean() / 2)


@dataclass(frozen=True)
class CodebookStats:
    """Usage of a codebook over a set of code indices, and the bound r.

    Attributes:
        codebook_size: K.
        used: number of codes used at least once.
        dead: number of codes never used.
        perplexity: ``exp(entropy)`` of the usage histogram.
        r_used: bound r over the used codes only (plain L2).
        r_all: bound r over all K codes (plain L2), for comparison.
    """

    codebook_size: int
    used: int
    dead: int
    perplexity: float
    r_used: float
    r_all: float

    def as_dict(self) -> dict[str, float | int]:
        """A JSON-able dict of the fields."""
        return dict(self.__dict__)


def codebook_stats(codebook: torch.Tensor, indices: torch.Tensor) -> CodebookStats:
    """Usage statistics and bound r of ``codebook`` ``(K, D)`` over ``indices`` (any shape)."""
    k = codebook.shape[0]
    counts = code_counts(indices, k)
    used = torch.nonzero(counts > 0).reshape(-1)
    return CodebookStats(
        codebook_size=k,
        used=int(used.numel()),
        dead=int(k - used.numel()),
        perplexity=float(perplexity_from_counts(counts)),
        r_used=bound_r(codebook, used),
        r_all=bound_r(codebook),
    )
