"""VQ-UNet with quantised skip connections: every latent the decoder sees is a code.

The bottleneck is the :class:`VQUNet`'s. Each quantised skip level ``i`` has its own
:class:`VectorQuantizer` (``skip_codebook_size`` codes of dimension ``channels[i]``, no
projection, the bottleneck's quantiser options) applied through the :meth:`UNet.skip` hook: the
decoder concatenates the nearest codes, the encoder continues from the unquantised features.
The skips are reported as ``"skip0"`` (full resolution) .. ``"skip{n-1}"`` in
:attr:`Encoding.latents` and :attr:`ModelOutput.quantizers`.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from vqseg_core.models.output import Latent, QuantizerOutput
from vqseg_core.models.quantizer import VectorQuantizer
from vqseg_core.models.vq_unet import VQUNet


class VQSkipUNet(VQUNet):
    """A :class:`VQUNet` whose skip connections are vector-quantised too.

    Args:
        spatial_dims, in_channels, out_channels, channels, num_res_blocks, norm_groups, upsample,
        codebook_size, codebook_dim, beta, beta_on, codebook_init, ema_decay,
        dead_code_threshold, cosine, positional_encoding: as for :class:`VQUNet` (the quantiser
            options apply to every quantiser; the positional encoding to the bottleneck only).
        skip_codebook_size: number of codes of each skip quantiser.
        quantized_skips: the skip levels to quantise (0: full resolution, up to
            ``len(channels) - 2``); empty (default) means every level.

    ``model.skip_quantizers["skip{i}"]`` is level ``i``'s quantiser, its codebook
    ``(skip_codebook_size, channels[i])``.

    Raises:
        ValueError: naming the argument, for any invalid value.
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
        skip_codebook_size: int = 256,
        quantized_skips: Sequence[int] = (),
        stem: str = "full",
    ) -> None:
        super().__init__(
            spatial_dims,
            in_channels,
            out_channels,
            channels,
            num_res_blocks,
            norm_groups,
            upsample,
            codebook_size,
            codebook_dim,
            beta,
            beta_on,
            codebook_init,
            ema_decay,
            dead_code_threshold,
            cosine,
            positional_encoding,
            stem,
        )
        n_skips = len(self.channels) - 1
        levels = tuple(quantized_skips)
        for level in levels:
            if not isinstance(level, int) or isinstance(level, bool) or not 0 <= level < n_skips:
                raise ValueError(
                    f"quantized_skips must hold skip levels in [0, {n_skips}), got {levels!r}"
                )
        if len(set(levels)) != len(levels):
            raise ValueError(f"quantized_skips has repeated levels: {levels!r}")
        self.quantized_skips = tuple(sorted(levels)) if levels else tuple(range(n_skips))
        self.skip_quantizers = nn.ModuleDict(
            {
                f"skip{i}": VectorQuantizer(
                    codebook_size=skip_codebook_size,
                    codebook_dim=self.channels[i],
                    beta=beta,
                    beta_on=beta_on,
                    codebook_init=codebook_init,
                    ema_decay=ema_decay,
                    dead_code_threshold=dead_code_threshold,
                    cosine=cosine,
                )
                for i in self.quantized_skips
            }
        )

    def skip(
        self, level: int, h: torch.Tensor
    ) -> tuple[torch.Tensor, Latent | None, QuantizerOutput | None]:
        """Quantise skip level ``level`` if it is one of ``quantized_skips``, else pass it on."""
        name = f"skip{level}"
        if name not in self.skip_quantizers:
            return h, None, None
        vq = self.skip_quantizers[name](h)
        return vq.quantized, Latent(h, vq.quantized, vq.indices), vq
