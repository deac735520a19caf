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
from vqseg_core.analysis.latent import (
    LatentStats,
    code_flip_map,
    code_flip_rate,
    encode_batched,
    flip_radius,
    latent_statistics,
    latent_variance,
)

__all__ = [
    "CodebookStats",
    "LatentStats",
    "bound_r",
    "code_counts",
    "code_flip_map",
    "code_flip_rate",
    "codebook_stats",
    "dead_codes",
    "encode_batched",
    "flip_radius",
    "latent_statistics",
    "latent_variance",
    "perplexity",
    "used_codes",
]
