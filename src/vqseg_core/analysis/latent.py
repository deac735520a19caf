"""Latent-space robustness: variance across noise draws, code flips, and the flip radius.

Given one clean image and N corrupted copies of it, these functions measure how far the
bottleneck moves:

- **latent variance**: per latent element, the (population, divide-by-N) variance across the N
  draws; reported for the raw features and, for a VQ model, for the quantised latents too;
- **code-flip rate**: the fraction of (draw, position) pairs whose code index differs from
  the clean image's code at that position;
- **flip radius** (beyond the paper): for each latent vector, its L2 distance to the nearest
  boundary between the Voronoi cell of its code and the cell of any other code. A perturbation
  that moves the vector by less than this cannot change its code (the poster's bound r is a
  codebook-wide, average version of this quantity). We report the fraction of positions whose
  noise-induced shift stays inside it.

All draws are encoded in batches (no Python loop over draws in the statistics).
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from vqseg_core.models.output import Encoding
from vqseg_core.models.quantizer import nearest_codes


def encode_batched(model: torch.nn.Module, images: torch.Tensor, batch_size: int = 16) -> Encoding:
    """Encode ``images`` ``(N, C, *spatial)`` in batches of ``batch_size`` (inference mode).

    Returns:
        An :class:`Encoding` whose tensors are concatenated over the N images.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    parts: list[Encoding] = []
    with torch.inference_mode():
        for start in range(0, images.shape[0], batch_size):
            parts.append(model.encode(images[start : start + batch_size]))

    def cat(name: str) -> torch.Tensor | None:
        values = [getattr(p, name) for p in parts]
        return None if values[0] is None else torch.cat(values)

    features = cat("features")
    assert features is not None
    return Encoding(features=features, quantized=cat("quantized"), indices=cat("indices"))


def latent_variance(latents: torch.Tensor) -> torch.Tensor:
    """Per-element variance across draws.

    Args:
        latents: ``(N, D, *latent_spatial)``, the same case under N noise draws.

    Returns:
        ``(D, *latent_spatial)`` population variance (divide by N), float32, computed in
        float64 for stability.
    """
    if latents.ndim < 2 or latents.shape[0] < 1:
        raise ValueError(f"expected (N, D, *spatial) with N >= 1, got {tuple(latents.shape)}")
    return latents.double().var(dim=0, correction=0).float()


def code_flip_map(indices: torch.Tensor, clean: torch.Tensor) -> torch.Tensor:
    """Fraction of draws whose code differs from the clean code, per latent position.

    Args:
        indices: ``(N, *latent_spatial)`` codes of the corrupted draws.
        clean: ``(*latent_spatial)`` (or ``(1, *latent_spatial)``) codes of the clean image.

    Returns:
        ``(*latent_spatial)`` float tensor in [0, 1].
    """
    clean = clean.reshape(indices.shape[1:])
    return (indices != clean).float().mean(dim=0)


def code_flip_rate(indices: torch.Tensor, clean: torch.Tensor) -> float:
    """Fraction of (draw, position) pairs whose code differs from the clean image's code."""
    return float(code_flip_map(indices, clean).mean())


def flip_radius(features: torch.Tensor, codebook: torch.Tensor, chunk: int = 4096) -> torch.Tensor:
    """Distance from each latent vector to the nearest boundary of its code's Voronoi cell.

    For a vector z with nearest code c, the boundary with code j is the bisecting hyperplane of
    c and j; z's distance to it is ``(||z - e_j||^2 - ||z - e_c||^2) / (2 ||e_j - e_c||)``. The
    radius is the minimum over j != c (codes identical to c are ignored).

    Args:
        features: ``(B, D, *latent_spatial)`` latent vectors (before quantisation).
        codebook: ``(K, D)``.
        chunk: vectors processed at once (bounds memory to ``chunk * K`` floats).

    Returns:
        ``(B, *latent_spatial)`` radii (float32, L2 units of the latent).
    """
    d = codebook.shape[1]
    flat = features.detach().float().movedim(1, -1).reshape(-1, d)
    codes = codebook.detach().float()
    out = torch.empty(flat.shape[0])
    for start in range(0, flat.shape[0], chunk):
        z = flat[start : start + chunk]
        c = nearest_codes(z, codes)
        dist_sq = torch.cdist(z.double(), codes.double()).pow(2)
        own = dist_sq.gather(1, c[:, None])
        gap = (codes[None, :, :] - codes[c][:, None, :]).double().norm(dim=2)
        radius = (dist_sq - own) / (2 * gap)
        radius[gap == 0] = float("inf")  # c itself and exact duplicates of it
        out[start : start + chunk] = radius.min(dim=1).values.float().clamp_min(0)
    return out.reshape(features.shape[0], *features.shape[2:])


@dataclass(frozen=True)
class LatentStats:
    """Latent robustness of one model on one case under N noise draws.

    Attributes:
        variance: ``(D, *L)`` per-element variance of the raw features across draws.
        mean_variance: mean of ``variance``.
        quantized_variance: ``(D, *L)`` variance of the quantised latents (VQ models), else None.
        mean_quantized_variance: its mean, else None.
        flip_map: ``(*L)`` fraction of draws whose code differs from the clean code (VQ), else None.
        flip_rate: mean of ``flip_map`` (VQ), else None.
        radius: ``(*L)`` flip radius of the clean latents (VQ), else None.
        within_radius: fraction of (draw, position) pairs whose shift from the clean latent is
            smaller than the clean flip radius (VQ), else None.
        n_draws: N.
    """

    variance: torch.Tensor
    mean_variance: float
    quantized_variance: torch.Tensor | None
    mean_quantized_variance: float | None
    flip_map: torch.Tensor | None
    flip_rate: float | None
    radius: torch.Tensor | None
    within_radius: float | None
    n_draws: int


def latent_statistics(
    model: torch.nn.Module, clean: torch.Tensor, draws: torch.Tensor, batch_size: int = 16
) -> LatentStats:
    """Latent variance, code flips and flip radius of ``model`` on one case.

    Args:
        model: a :class:`~vqseg_core.models.UNet` or :class:`~vqseg_core.models.VQUNet` (eval mode).
        clean: ``(1, C, *spatial)`` the clean image.
        draws: ``(N, C, *spatial)`` N corrupted copies of it.
        batch_size: draws encoded at once.
    """
    if clean.ndim != draws.ndim or clean.shape[0] != 1 or clean.shape[1:] != draws.shape[1:]:
        raise ValueError(
            f"clean must be (1, *shape) and draws (N, *shape); got {tuple(clean.shape)}, {tuple(draws.shape)}"
        )
    ref = encode_batched(model, clean, batch_size)
    enc = encode_batched(model, draws, batch_size)
    variance = latent_variance(enc.features)
    if enc.indices is None or ref.indices is None or enc.quantized is None:
        return LatentStats(
            variance, float(variance.mean()), None, None, None, None, None, None, draws.shape[0]
        )
    q_var = latent_variance(enc.quantized)
    flips = code_flip_map(enc.indices, ref.indices)
    codebook = model.quantizer.effective_codebook()
    radius = flip_radius(ref.features, codebook)[0]
    shift = (enc.features.float() - ref.features.float()).norm(dim=1)  # (N, *L)
    within = float((shift < radius[None]).float().mean())
    return LatentStats(
        variance=variance,
        mean_variance=float(variance.mean()),
        quantized_variance=q_var,
        mean_quantized_variance=float(q_var.mean()),
        flip_map=flips,
        flip_rate=float(flips.mean()),
        radius=radius,
        within_radius=within,
        n_draws=draws.shape[0],
    )
