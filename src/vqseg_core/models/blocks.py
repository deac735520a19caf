"""Building blocks shared by the 2D and 3D networks (one table per spatial dimension)."""

from __future__ import annotations

import torch
from torch import nn

_CONV: dict[int, type[nn.Module]] = {2: nn.Conv2d, 3: nn.Conv3d}
_CONV_T: dict[int, type[nn.Module]] = {2: nn.ConvTranspose2d, 3: nn.ConvTranspose3d}


def conv(spatial_dims: int, cin: int, cout: int, kernel: int = 3, stride: int = 1) -> nn.Module:
    """A same-padded convolution for 2D or 3D."""
    return _CONV[spatial_dims](cin, cout, kernel, stride=stride, padding=kernel // 2)


class ResBlock(nn.Module):
    """Pre-activation residual block: (GroupNorm, SiLU, conv3) x 2, plus a 1x1 skip when channels change."""

    def __init__(self, spatial_dims: int, cin: int, cout: int, groups: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            nn.GroupNorm(groups, cin),
            nn.SiLU(),
            conv(spatial_dims, cin, cout),
            nn.GroupNorm(groups, cout),
            nn.SiLU(),
            conv(spatial_dims, cout, cout),
        )
        self.skip = nn.Identity() if cin == cout else conv(spatial_dims, cin, cout, kernel=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.skip(x) + self.body(x)


class Down(nn.Module):
    """Halve every spatial size with a stride-2 3x3 convolution (deterministic on CUDA, unlike max-pool)."""

    def __init__(self, spatial_dims: int, cin: int, cout: int) -> None:
        super().__init__()
        self.conv = conv(spatial_dims, cin, cout, kernel=3, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class Up(nn.Module):
    """Double every spatial size: nearest upsampling + conv3 (default) or a 2x2 transposed convolution."""

    def __init__(self, spatial_dims: int, cin: int, cout: int, mode: str) -> None:
        super().__init__()
        self.layer: nn.Module
        if mode == "nearest":
            self.layer = nn.Sequential(
                nn.Upsample(scale_factor=2, mode="nearest"), conv(spatial_dims, cin, cout)
            )
        else:
            self.layer = _CONV_T[spatial_dims](cin, cout, kernel_size=2, stride=2)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.layer(x)
