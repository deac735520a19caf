"""Sinusoidal positional encodings of a feature map, and the authors' bottleneck bug.

The authors' VQ-UNet code does ``x = pos_enc(x)`` before the quantiser with an encoding class
(the ``positional-encodings`` package's ``PositionalEncoding2D/3D``) that returns the encoding
*alone*, not ``x + pe``. The quantiser's input then does not depend on the image, the code
indices are the same for every image, and "zero latent variance under noise" holds by
construction. :class:`PositionalEncoding` reproduces that encoding so that the bug can be
studied (``mode="replace"``) next to the intended sum (``mode="add"``).

Written here rather than imported: the package is one small function, and pinning a
dependency for it would be heavier than these lines.
"""

from __future__ import annotations

import math

import torch
from torch import nn

MODES = ("none", "add", "replace")


def sinusoidal_encoding(shape: tuple[int, ...], channels: int) -> torch.Tensor:
    """The ``(channels, *shape)`` sinusoidal encoding of a 2D or 3D grid.

    Like ``positional_encodings.PositionalEncoding2D/3D``: the channels are split into one
    block per axis (each ``2 * ceil(channels / (2 * ndim))`` wide, truncated to ``channels``),
    and each block holds interleaved ``sin``/``cos`` of the position times frequencies
    ``10000 ** (-2i / block)``.
    """
    ndim = len(shape)
    block = int(math.ceil(channels / (2 * ndim)) * 2)
    inv_freq = 1.0 / (10000 ** (torch.arange(0, block, 2, dtype=torch.float32) / block))
    parts = []
    for axis, n in enumerate(shape):
        angles = torch.arange(n, dtype=torch.float32)[:, None] * inv_freq[None]  # (n, block/2)
        emb = torch.stack((angles.sin(), angles.cos()), dim=-1).flatten(-2)  # (n, block)
        view = [1] * ndim
        view[axis] = n
        parts.append(emb.T.reshape(block, *view).expand(block, *shape))
    return torch.cat(parts)[:channels].contiguous()


class PositionalEncoding(nn.Module):
    """Add the sinusoidal encoding to ``x`` (``"add"``), replace ``x`` by it (``"replace"``,
    the authors' bug), or pass ``x`` through (``"none"``)."""

    def __init__(self, mode: str = "none") -> None:
        super().__init__()
        if mode not in MODES:
            raise ValueError(f"positional encoding mode must be one of {MODES}, got {mode!r}")
        self.mode = mode

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.mode == "none":
            return x
        pe = sinusoidal_encoding(tuple(x.shape[2:]), x.shape[1]).to(x.device, x.dtype)
        pe = pe.unsqueeze(0).expand_as(x)
        return x + pe if self.mode == "add" else pe.contiguous(memory_format=_format(x))

    def extra_repr(self) -> str:
        return f"mode={self.mode!r}"


def _format(x: torch.Tensor) -> torch.memory_format:
    if x.ndim == 4 and x.is_contiguous(memory_format=torch.channels_last):
        return torch.channels_last
    if x.ndim == 5 and x.is_contiguous(memory_format=torch.channels_last_3d):
        return torch.channels_last_3d
    return torch.contiguous_format
