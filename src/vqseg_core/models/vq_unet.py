"""VQ-UNet: the UNet whose bottleneck is snapped to a learned codebook (Santhirasekaram et al. 2022).

The deepest features go through a 1x1 convolution to ``codebook_dim`` (the paper's 256->256
projection), are quantised by :class:`VectorQuantizer`, and (when ``codebook_dim`` differs from
the bottleneck width) are projected back by another 1x1 convolution before the decoder. Skip
connections are not quantised, as in the paper.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from vqseg_core.models.blocks import conv
from vqseg_core.models.output import Encoding, QuantizerOutput
from vqseg_core.models.positional import PositionalEncoding
from vqseg_core.models.quantizer import VectorQuantizer
from vqseg_core.models.unet import UNet


class VQUNet(UNet):
    """A :class:`UNet` with a vector-quantised bottleneck.

    Args:
        spatial_dims, in_channels, out_channels, channels, num_res_blocks, norm_groups, upsample:
            as for :class:`UNet`.
        codebook_size: number of codes K (paper: 1024).
        codebook_dim: code dimension D (paper: 256).
        beta: VQ loss weight (paper: 0.25).
        beta_on: ``"codebook"`` (paper-era code, default) or ``"commitment"``.
        codebook_init: ``"uniform"`` (paper) or ``"kmeans"`` (first training batch).
        ema_decay: EMA codebook updates when set (e.g. 0.99); off by default.
        dead_code_threshold: restart codes whose running usage falls below this; off by default.
        cosine: unit-norm (cosine) codebook; off by default.
        positional_encoding: ``"none"`` (default), ``"add"`` (sinusoidal encoding added to the
            quantiser input) or ``"replace"`` (the quantiser input *is* the encoding: the
            authors' bug, kept to study it; codes then ignore the image). See
            :mod:`vqseg_core.models.positional`.
        stem: as for :class:`UNet` (``"full"`` default, ``"lean"``).

    ``model.quantizer.codebook`` is the ``(K, D)`` codebook.
    """

    def __init__(
        self,
        spatial_dims: int,
        in_channels: int,
        out_channels: int,
        channels: Sequence[int] = (16, 32, 64, 128, 256),
        num_res_blocks: int = 1,
        norm_groups: int = 8,
        upsample: str = "nearest",
        codebook_size: int = 1024,
        codebook_dim: int = 256,
        beta: float = 0.25,
        beta_on: str = "codebook",
        codebook_init: str = "uniform",
        ema_decay: float | None = None,
        dead_code_threshold: float | None = None,
        cosine: bool = False,
        positional_encoding: str = "none",
        stem: str = "full",
    ) -> None:
        super().__init__(
            spatial_dims, in_channels, out_channels, channels, num_res_blocks, norm_groups, upsample,
            stem,
        )  # fmt: skip
        self.quantizer = VectorQuantizer(
            codebook_size=codebook_size,
            codebook_dim=codebook_dim,
            beta=beta,
            beta_on=beta_on,
            codebook_init=codebook_init,
            ema_decay=ema_decay,
            dead_code_threshold=dead_code_threshold,
            cosine=cosine,
        )
        width = self.channels[-1]
        self.positional = PositionalEncoding(positional_encoding)
        self.pre_quant = conv(spatial_dims, width, codebook_dim, kernel=1)
        self.post_quant: nn.Module = (
            nn.Identity()
            if codebook_dim == width
            else conv(spatial_dims, codebook_dim, width, kernel=1)
        )

    def bottleneck(self, h: torch.Tensor) -> tuple[Encoding, torch.Tensor, QuantizerOutput | None]:
        """Project, quantise, and project back; returns (encoding, decoder input, VQ result)."""
        features = self.positional(self.pre_quant(h))
        vq = self.quantizer(features)
        encoding = Encoding(features=features, quantized=vq.quantized, indices=vq.indices)
        return encoding, self.post_quant(vq.quantized), vq
