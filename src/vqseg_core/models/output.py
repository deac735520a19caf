"""Small named results returned by the models (instead of loose tuples)."""

from __future__ import annotations

from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class QuantizerOutput:
    """What :class:`VectorQuantizer` returns for a latent tensor ``z`` of shape ``(B, D, *S)``.

    Attributes:
        quantized: ``(B, D, *S)``, the nearest codes, with straight-through gradients to ``z``.
        indices: ``(B, *S)`` long tensor of code indices in ``[0, K)``.
        loss: the weighted VQ loss (codebook + commitment terms with ``beta`` where configured).
        codebook_loss: ``mean ||sg(z) - q||^2`` (moves the codes).
        commitment_loss: ``mean ||z - sg(q)||^2`` (moves the encoder).
        used_codes: number of distinct codes in this batch (0-dim long tensor).
        perplexity: ``exp(entropy)`` of the code histogram of this batch (0-dim float tensor).
    """

    quantized: torch.Tensor
    indices: torch.Tensor
    loss: torch.Tensor
    codebook_loss: torch.Tensor
    commitment_loss: torch.Tensor
    used_codes: torch.Tensor
    perplexity: torch.Tensor


@dataclass(frozen=True)
class Encoding:
    """The bottleneck of a network for an input batch.

    Attributes:
        features: ``(B, D, *latent_spatial)``, the bottleneck before quantisation (for
            :class:`VQUNet`, after the 1x1 projection to ``codebook_dim``).
        quantized: ``(B, D, *latent_spatial)`` nearest codes (``VQUNet`` only, else ``None``).
        indices: ``(B, *latent_spatial)`` long code indices (``VQUNet`` only, else ``None``).
    """

    features: torch.Tensor
    quantized: torch.Tensor | None = None
    indices: torch.Tensor | None = None


@dataclass(frozen=True)
class ModelOutput:
    """Everything one forward pass gives the training loop.

    Attributes:
        logits: ``(B, out_channels, *spatial)``, on the input's own grid.
        encoding: the bottleneck (see :class:`Encoding`).
        vq: the quantiser's result (loss terms, usage, perplexity); ``None`` for a plain UNet.
    """

    logits: torch.Tensor
    encoding: Encoding
    vq: QuantizerOutput | None = None
