"""The positional-encoding bottleneck option, including the authors' "replace" bug."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from vqseg_core.analysis import latent_variance
from vqseg_core.models import ModelConfig, VQUNet, build_model
from vqseg_core.models.positional import PositionalEncoding, sinusoidal_encoding


def reference_encoding(shape: tuple[int, ...], channels: int) -> np.ndarray:
    """Element by element: the package's layout (per-axis blocks of interleaved sin, cos)."""
    ndim = len(shape)
    block = int(math.ceil(channels / (2 * ndim)) * 2)
    out = np.zeros((ndim * block, *shape))
    for pos in np.ndindex(*shape):
        for axis in range(ndim):
            for i in range(block // 2):
                angle = pos[axis] / 10000 ** (2 * i / block)
                out[(axis * block + 2 * i, *pos)] = math.sin(angle)
                out[(axis * block + 2 * i + 1, *pos)] = math.cos(angle)
    return out[:channels]


@pytest.mark.parametrize(("shape", "channels"), [((5, 7), 16), ((6, 3), 10), ((3, 4, 5), 14)])
def test_encoding_matches_elementwise_definition(shape: tuple[int, ...], channels: int) -> None:
    got = sinusoidal_encoding(shape, channels).numpy()
    assert got.shape == (channels, *shape)
    np.testing.assert_allclose(got, reference_encoding(shape, channels), atol=1e-5)


def test_modes() -> None:
    x = torch.randn(2, 8, 4, 4)
    pe = sinusoidal_encoding((4, 4), 8)
    assert torch.equal(PositionalEncoding("none")(x), x)
    torch.testing.assert_close(PositionalEncoding("add")(x), x + pe)
    torch.testing.assert_close(PositionalEncoding("replace")(x), pe.expand(2, -1, -1, -1))
    with pytest.raises(ValueError, match="replace"):
        PositionalEncoding("sum")


def _model(mode: str, dims: int = 2) -> VQUNet:
    torch.manual_seed(0)
    model = VQUNet(
        dims,
        1,
        2,
        channels=(8, 16, 32),
        norm_groups=4,
        codebook_size=64,
        codebook_dim=16,
        positional_encoding=mode,
    )
    return model.eval()


@pytest.mark.parametrize(("mode", "same"), [("replace", True), ("add", False), ("none", False)])
def test_only_replace_makes_codes_ignore_the_image(mode: str, same: bool) -> None:
    gen = torch.Generator().manual_seed(1)
    a, b = torch.rand(1, 1, 32, 32, generator=gen), torch.rand(1, 1, 32, 32, generator=gen) * 3
    model = _model(mode)
    with torch.no_grad():
        ia, ib = model.encode(a).indices, model.encode(b).indices
    assert torch.equal(ia, ib) is same


def test_replace_gives_zero_latent_variance_by_construction() -> None:
    """The authors' "zero latent variance under noise" is what the bug gives for free."""
    draws = torch.rand(6, 1, 32, 32, generator=torch.Generator().manual_seed(2))
    for mode, zero in (("replace", True), ("add", False)):
        with torch.no_grad():
            features = _model(mode).encode(draws).features
        variance = latent_variance(features)
        assert (float(variance.max()) == 0.0) is zero


def test_3d_and_config_round_trip() -> None:
    config = ModelConfig(
        spatial_dims=3,
        channels=(4, 8, 16),
        norm_groups=4,
        codebook_size=32,
        codebook_dim=8,
        positional_encoding="replace",
    )
    assert ModelConfig.from_dict(config.to_dict()) == config
    model = build_model(config).eval()
    with torch.no_grad():
        out = model(torch.rand(1, 1, 16, 16, 16))
    assert out.shape == (1, 2, 16, 16, 16)
    assert (
        ModelConfig.from_dict(
            {k: v for k, v in config.to_dict().items() if k != "positional_encoding"}
        ).positional_encoding
        == "none"
    )
