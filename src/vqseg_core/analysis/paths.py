"""Which path of a UNet carries the segmentation and the damage: mechanism probes.

A UNet's decoder sees two things: the bottleneck (the quantised latent of a VQ-UNet) and the
skip connections. The paper's argument is about the bottleneck; these probes measure how much
the decoder actually relies on it, and which path noise damages:

* :func:`ablated_logits`: the bottleneck destroyed at test time (``zero``: all zeros;
  ``mean``: a fixed mean decoder input; ``swap``: another image's bottleneck), skips intact;
* :func:`split_logits`: the skips of one image and the bottleneck of another (e.g. the clean
  image on the skip path, its noisy copy on the bottleneck, and the reverse);
* :func:`certified_fraction`: the share of latent positions whose noise-induced shift is
  smaller than their flip radius (:func:`~vqseg_core.analysis.latent.flip_radius`), i.e.
  positions whose code provably cannot have changed.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F

from vqseg_core.analysis.latent import flip_radius

__all__ = ["ABLATIONS", "ablated_logits", "certified_fraction", "split_logits"]

ABLATIONS = ("zero", "mean", "swap")


@torch.no_grad()
def ablated_logits(
    model: torch.nn.Module,
    x: torch.Tensor,
    mode: str,
    *,
    other: torch.Tensor | None = None,
    mean: torch.Tensor | None = None,
) -> torch.Tensor:
    """Logits of ``x`` with the bottleneck replaced, the skips of ``x`` kept.

    Args:
        model: a :class:`~vqseg_core.models.UNet` (or subclass), eval mode.
        x: ``(B, C, *spatial)``.
        mode: ``"zero"``, ``"mean"`` (``mean``: ``(D, *latent)`` or ``(D,)`` broadcast) or
            ``"swap"`` (the bottleneck of ``other``, same shape as ``x``).
    """
    h, skips, pads = model.paths(x)
    if mode == "zero":
        h = torch.zeros_like(h)
    elif mode == "mean":
        if mean is None:
            raise ValueError("mode 'mean' needs the mean decoder input")
        m = mean.to(h)
        h = (m if m.ndim == h.ndim - 1 else m.reshape(-1, *[1] * (h.ndim - 2))).expand_as(h)
    elif mode == "swap":
        if other is None:
            raise ValueError("mode 'swap' needs the other image")
        h = model.paths(other)[0]
    else:
        raise ValueError(f"mode must be one of {ABLATIONS}, got {mode!r}")
    return model.decode(h, skips, pads)


@torch.no_grad()
def split_logits(
    model: torch.nn.Module, skip_input: torch.Tensor, bottleneck_input: torch.Tensor
) -> torch.Tensor:
    """Logits with the skips of ``skip_input`` and the bottleneck of ``bottleneck_input``."""
    _, skips, pads = model.paths(skip_input)
    h = model.paths(bottleneck_input)[0]
    return model.decode(h, skips, pads)


@torch.no_grad()
def certified_fraction(model: torch.nn.Module, clean: torch.Tensor, noisy: torch.Tensor) -> float:
    """Share of bottleneck positions whose code provably stays: ``||f(noisy) - f(clean)|| <
    radius(f(clean))``, in the space the quantiser compares (unit vectors for a cosine
    codebook). ``nan`` for a network without a bottleneck quantiser."""
    quantizer = getattr(model, "quantizer", None)
    if quantizer is None:
        return float("nan")
    a, b = model.encode(clean).features, model.encode(noisy).features
    d = a.shape[1]
    a = a.movedim(1, -1).reshape(-1, d).float()
    b = b.movedim(1, -1).reshape(-1, d).float()
    if quantizer.cosine:
        a, b = F.normalize(a, dim=1), F.normalize(b, dim=1)
    radius = flip_radius(a, quantizer.effective_codebook().detach().float())
    shift = (b - a).norm(dim=1)
    return float((shift < radius).float().mean())
