"""Small named results returned by the models (instead of loose tuples)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

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
class Latent:
    """One quantiser's input and output, or a plain feature map.

    Attributes:
        features: ``(B, D, *S)``, the vectors before quantisation.
        quantized: ``(B, D, *S)`` nearest codes, or ``None`` when not quantised.
        indices: ``(B, *S)`` long code indices, or ``None`` when not quantised.
    """

    features: torch.Tensor
    quantized: torch.Tensor | None = None
    indices: torch.Tensor | None = None


@dataclass(frozen=True)
class Encoding:
    """The latents of a network for an input batch: the bottleneck and any quantised skips.

    The three tensor fields are the bottleneck's; quantised skip connections (none for
    :class:`UNet` and :class:`VQUNet`) are in ``skips``. :attr:`latents` names them all.

    Attributes:
        features: ``(B, D, *latent_spatial)``, the bottleneck before quantisation (for
            :class:`VQUNet`, after the 1x1 projection to ``codebook_dim``).
        quantized: ``(B, D, *latent_spatial)`` nearest codes (``VQUNet`` only, else ``None``).
        indices: ``(B, *latent_spatial)`` long code indices (``VQUNet`` only, else ``None``).
        skips: the quantised skip connections by name, ``"skip0"`` (full resolution) to
            ``"skip{n-1}"``, in level order; empty when no skip is quantised.
    """

    features: torch.Tensor
    quantized: torch.Tensor | None = None
    indices: torch.Tensor | None = None
    skips: Mapping[str, Latent] = field(default_factory=dict)

    @property
    def latents(self) -> dict[str, Latent]:
        """``{"bottleneck": ..., "skip0": ..., ...}``: the bottleneck first, then ``skips``."""
        bottleneck = Latent(self.features, self.quantized, self.indices)
        return {"bottleneck": bottleneck, **self.skips}


@dataclass(frozen=True)
class ModelOutput:
    """Everything one forward pass gives the training loop.

    Attributes:
        logits: ``(B, out_channels, *spatial)``, on the input's own grid.
        encoding: the bottleneck and quantised skips (see :class:`Encoding`).
        vq: the bottleneck quantiser's result (loss terms, usage, perplexity); ``None`` when
            the bottleneck is not quantised (a plain UNet).
        quantizers: every quantiser's result, by the names of :attr:`Encoding.latents`
            (``"bottleneck"`` first when it is quantised, then ``"skip0"``, ...). When only
            ``vq`` is given, this is ``{"bottleneck": vq}``.
    """

    logits: torch.Tensor
    encoding: Encoding
    vq: QuantizerOutput | None = None
    quantizers: Mapping[str, QuantizerOutput] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.vq is not None and not self.quantizers:
            object.__setattr__(self, "quantizers", {"bottleneck": self.vq})

    @property
    def vq_loss(self) -> torch.Tensor | None:
        """The sum of every quantiser's ``loss`` (``vq.loss`` itself with one); ``None`` if none."""
        total: torch.Tensor | None = None
        for q in self.quantizers.values():
            total = q.loss if total is None else total + q.loss
        return total
