"""UNet for 2D and 3D images, close to the paper-era architecture.

Encoder: a 3x3 stem, then per level ``num_res_blocks`` pre-activation residual blocks
(GroupNorm + SiLU) and a stride-2 convolution to the next level. Decoder: upsample (nearest +
conv, or transposed conv), concatenate the skip, residual blocks. Strided and transposed/nearest
convolutions only (no max-pool or trilinear upsampling), so CUDA training can be deterministic.

Two overridable hooks decide what is quantised: :meth:`UNet.bottleneck`, where
:class:`~vqseg_core.models.vq_unet.VQUNet` puts its quantiser, and :meth:`UNet.skip`, called on
each skip connection (identity by default). Every quantiser's result is reported by name
(``"bottleneck"``, ``"skip0"`` at full resolution, ...) in :attr:`Encoding.latents` and
:attr:`ModelOutput.quantizers`.

Inputs whose spatial size is not a multiple of ``2 ** (len(channels) - 1)`` are padded
(replicate padding, split evenly before/after each axis) and the logits are cropped back, so
``model(x)`` always has the input's spatial shape.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

import torch
from torch import nn

from vqseg_core.models.blocks import Down, ResBlock, Up, conv
from vqseg_core.models.output import Encoding, Latent, ModelOutput, QuantizerOutput
from vqseg_core.models.padding import crop_padding, pad_to

UPSAMPLE_MODES = ("nearest", "transpose")
STEMS = ("full", "lean")
"""``full``: a 3x3 stem and the first level at the input's resolution (default, as trained for
the bundled pairs). ``lean``: a stride-2 3x3 stem, so every level runs at half the resolution
(a quarter of the pixels), and the head upsamples back to the input's resolution (the model's
``upsample`` mode, ``channels[0]`` wide) before its 1x1 convolution."""


@dataclass(frozen=True)
class _Encoded:
    """What the encoder pass leaves for the bottleneck and the decoder."""

    h: torch.Tensor  # the deepest features
    pads: list[int]
    skips: list[torch.Tensor]  # what the decoder concatenates, level 0 first
    latents: dict[str, Latent]  # the skip latents to report, by name
    quantizers: dict[str, QuantizerOutput]  # the skip quantisers' results, by name


def _check_positive_int(name: str, value: object) -> None:
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise ValueError(f"{name} must be a positive int, got {value!r}")


class UNet(nn.Module):
    """A residual UNet for 2D or 3D segmentation.

    Args:
        spatial_dims: 2 for images ``(B, C, H, W)``, 3 for volumes ``(B, C, H, W, D)``.
        in_channels: input channels C.
        out_channels: output channels (classes, background included).
        channels: feature channels per level; ``len(channels) - 1`` stride-2 downsamplings.
            Default ``(16, 32, 64, 128, 256)``: four downsamplings, a 256-channel bottleneck.
        num_res_blocks: residual blocks per level, in encoder and decoder.
        norm_groups: GroupNorm groups; must divide every entry of ``channels``.
        upsample: ``"nearest"`` (nearest + 3x3 conv, paper-like) or ``"transpose"``.
        stem: ``"full"`` (default) or ``"lean"`` (see :data:`STEMS`): the lean stem halves the
            resolution of every level, about a quarter of the FLOPs, and doubles ``factor``.

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
        stem: str = "full",
    ) -> None:
        super().__init__()
        if spatial_dims not in (2, 3):
            raise ValueError(f"spatial_dims must be 2 or 3, got {spatial_dims!r}")
        _check_positive_int("in_channels", in_channels)
        _check_positive_int("out_channels", out_channels)
        _check_positive_int("num_res_blocks", num_res_blocks)
        _check_positive_int("norm_groups", norm_groups)
        channels = tuple(channels)
        if len(channels) < 2:
            raise ValueError(f"channels needs at least 2 levels, got {channels!r}")
        for c in channels:
            _check_positive_int("channels", c)
            if c % norm_groups:
                raise ValueError(
                    f"channels must all be divisible by norm_groups={norm_groups}, got {channels!r}"
                )
        if upsample not in UPSAMPLE_MODES:
            raise ValueError(f"upsample must be one of {UPSAMPLE_MODES}, got {upsample!r}")
        if stem not in STEMS:
            raise ValueError(f"stem must be one of {STEMS}, got {stem!r}")

        self.spatial_dims = spatial_dims
        self.in_channels = in_channels
        self.out_channels = out_channels
        self.channels = channels
        self.stem_kind = stem
        lean = stem == "lean"
        self.factor = 2 ** (len(channels) - 1 + lean)
        g, n, sd = norm_groups, num_res_blocks, spatial_dims

        self.stem = conv(sd, in_channels, channels[0], stride=2 if lean else 1)
        self.encoder = nn.ModuleList()
        self.downs = nn.ModuleList()
        for i, c in enumerate(channels):
            self.encoder.append(nn.Sequential(*[ResBlock(sd, c, c, g) for _ in range(n)]))
            if i + 1 < len(channels):
                self.downs.append(Down(sd, c, channels[i + 1]))
        self.ups = nn.ModuleList()
        self.decoder = nn.ModuleList()
        for i in reversed(range(len(channels) - 1)):
            c = channels[i]
            self.ups.append(Up(sd, channels[i + 1], c, upsample))
            blocks = [ResBlock(sd, 2 * c, c, g)] + [ResBlock(sd, c, c, g) for _ in range(n - 1)]
            self.decoder.append(nn.Sequential(*blocks))
        head = [nn.GroupNorm(g, channels[0]), nn.SiLU(), conv(sd, channels[0], out_channels, 1)]
        if lean:  # back to the input's resolution before the 1x1 convolution
            head.insert(0, Up(sd, channels[0], channels[0], upsample))
        self.head = nn.Sequential(*head)

    # -- the hooks ---------------------------------------------------------------------------
    def bottleneck(self, h: torch.Tensor) -> tuple[Encoding, torch.Tensor, QuantizerOutput | None]:
        """Map the deepest features to (encoding, decoder input, quantiser result or None)."""
        return Encoding(features=h), h, None

    def skip(
        self, level: int, h: torch.Tensor
    ) -> tuple[torch.Tensor, Latent | None, QuantizerOutput | None]:
        """The hook on skip level ``level`` (0: full resolution); the identity by default.

        Returns:
            (what the decoder concatenates, the latent to report as ``f"skip{level}"`` or
            ``None``, the quantiser's result or ``None``). The encoder continues from ``h``.
        """
        return h, None, None

    # -- public API -----------------------------------------------------------------------
    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """Logits ``(B, out_channels, *spatial)`` for ``x`` ``(B, in_channels, *spatial)``."""
        return self.forward_with_aux(x).logits

    def encode(self, x: torch.Tensor) -> Encoding:
        """The latents of ``x`` (see :class:`Encoding`); the decoder is not run."""
        enc = self._encode(x)
        return self._encoding(self.bottleneck(enc.h)[0], enc)

    def forward_with_aux(self, x: torch.Tensor) -> ModelOutput:
        """One forward pass returning logits, the encoding and every quantiser's terms."""
        enc = self._encode(x)
        encoding, h, vq = self.bottleneck(enc.h)
        logits = self.decode(h, enc.skips, enc.pads)
        quantizers = {"bottleneck": vq} if vq is not None else {}
        return ModelOutput(
            logits=logits,
            encoding=self._encoding(encoding, enc),
            vq=vq,
            quantizers={**quantizers, **enc.quantizers},
        )

    def paths(self, x: torch.Tensor) -> tuple[torch.Tensor, list[torch.Tensor], list[int]]:
        """The two paths of the network for ``x``: the decoder's input after the bottleneck
        (quantised for a VQ-UNet), the skip tensors the decoder concatenates (after any skip
        hook) and the input padding. ``decode`` of them is ``forward(x)``; mixing the paths of
        two inputs (or replacing one) probes which path carries what."""
        enc = self._encode(x)
        return self.bottleneck(enc.h)[1], enc.skips, enc.pads

    def decode(
        self, h: torch.Tensor, skips: Sequence[torch.Tensor], pads: Sequence[int]
    ) -> torch.Tensor:
        """Logits from a decoder input and skips (see :meth:`paths`), cropped to the input."""
        for up, block, skip in zip(self.ups, self.decoder, reversed(skips), strict=True):
            h = block(torch.cat([up(h), skip], dim=1))
        return self._crop(self.head(h), pads)

    def padded_shape(self, spatial: Sequence[int]) -> tuple[int, ...]:
        """The spatial shape an input of shape ``spatial`` is padded to."""
        return tuple(-(-s // self.factor) * self.factor for s in spatial)

    def latent_shape(self, spatial: Sequence[int]) -> tuple[int, ...]:
        """The bottleneck's spatial shape for an input of spatial shape ``spatial``."""
        return tuple(s // self.factor for s in self.padded_shape(spatial))

    # -- internals ------------------------------------------------------------------------
    def _encode(self, x: torch.Tensor) -> _Encoded:
        if x.ndim != self.spatial_dims + 2:
            raise ValueError(
                f"expected input of shape (B, {self.in_channels}, {'H, W' if self.spatial_dims == 2 else 'H, W, D'}), "
                f"got {tuple(x.shape)}"
            )
        if x.shape[1] != self.in_channels:
            raise ValueError(f"expected {self.in_channels} input channels, got {x.shape[1]}")
        if any(s == 0 for s in x.shape[2:]):
            raise ValueError(f"input has an empty spatial axis: {tuple(x.shape)}")
        x, pads = self._pad(x)
        h = self.stem(x)
        skips: list[torch.Tensor] = []
        latents: dict[str, Latent] = {}
        quantizers: dict[str, QuantizerOutput] = {}
        for i, block in enumerate(self.encoder):
            h = block(h)
            if i < len(self.downs):
                skip, latent, vq = self.skip(i, h)
                skips.append(skip)
                if latent is not None:
                    latents[f"skip{i}"] = latent
                if vq is not None:
                    quantizers[f"skip{i}"] = vq
                h = self.downs[i](h)
        return _Encoded(h, pads, skips, latents, quantizers)

    @staticmethod
    def _encoding(bottleneck: Encoding, enc: _Encoded) -> Encoding:
        return replace(bottleneck, skips=enc.latents) if enc.latents else bottleneck

    def _pad(self, x: torch.Tensor) -> tuple[torch.Tensor, list[int]]:
        return pad_to(x, self.padded_shape(x.shape[2:]))

    @staticmethod
    def _crop(y: torch.Tensor, pads: list[int]) -> torch.Tensor:
        return crop_padding(y, pads)
