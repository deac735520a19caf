"""Latent-space analysis: codebook usage, the poster's bound r, latent variance."""

from vqseg_core.analysis.codebook import (
    CodebookStats,
    bound_r,
    code_counts,
    codebook_stats,
    dead_codes,
    perplexity,
    used_codes,
)

__all__ = [
    "CodebookStats",
    "bound_r",
    "code_counts",
    "codebook_stats",
    "dead_codes",
    "perplexity",
    "used_codes",
]
