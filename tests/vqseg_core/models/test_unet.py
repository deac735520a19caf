"""Shapes, argument validation and padding of UNet / VQUNet (2D and 3D)."""

from __future__ import annotations

import pytest
import torch

from vqseg_core.models import UNet, VQUNet

SMALL = dict(channels=(8, 16, 32), norm_groups=4)
SMALL_VQ = dict(SMALL, codebook_size=32, codebook_dim=16)


def _model(kind: str, spatial_dims: int, **kw) -> UNet:
    if kind == "unet":
        return UNet(spatial_dims, 1, 3, **SMALL, **kw)
    return VQUNet(spatial_dims, 1, 3, **SMALL_VQ, **kw)


@pytest.mark.parametrize("kind", ["unet", "vqunet"])
@pytest.mark.parametrize(
    ("spatial", "latent"),
    [
        ((32, 32), (8, 8)),
        ((64, 48), (16, 12)),
        ((33, 17), (9, 5)),  # needs padding
        ((1, 5), (1, 2)),  # tiny, needs padding
        ((16, 16, 16), (4, 4, 4)),
        ((20, 13, 9), (5, 4, 3)),  # needs padding
    ],
)
def test_forward_and_encode_shapes(kind: str, spatial: tuple, latent: tuple) -> None:
    model = _model(kind, len(spatial)).eval()
    x = torch.rand(2, 1, *spatial)
    with torch.no_grad():
        logits = model(x)
        enc = model.encode(x)
    assert logits.shape == (2, 3, *spatial)
    assert model.latent_shape(spatial) == latent
    width = 16 if kind == "vqunet" else 32
    assert enc.features.shape == (2, width, *latent)
    if kind == "vqunet":
        assert enc.quantized is not None and enc.quantized.shape == enc.features.shape
        assert enc.indices is not None and enc.indices.shape == (2, *latent)
        assert enc.indices.dtype == torch.long
    else:
        assert enc.quantized is None and enc.indices is None


@pytest.mark.parametrize("upsample", ["nearest", "transpose"])
def test_upsample_modes_give_same_shapes(upsample: str) -> None:
    model = UNet(3, 2, 4, upsample=upsample, **SMALL).eval()
    with torch.no_grad():
        assert model(torch.rand(1, 2, 12, 8, 4)).shape == (1, 4, 12, 8, 4)


def test_paper_default_widths_and_bottleneck() -> None:
    model = VQUNet(2, 1, 2)
    assert model.channels == (16, 32, 64, 128, 256)
    assert model.factor == 16
    assert model.quantizer.codebook.shape == (1024, 256)
    assert model.quantizer.beta == 0.25 and model.quantizer.beta_on == "codebook"


def test_padding_is_cropped_back_consistently() -> None:
    """An input needing padding gives the same logits as padding it by hand and cropping."""
    model = UNet(2, 1, 2, **SMALL).eval()
    x = torch.rand(1, 1, 30, 30)
    padded = torch.nn.functional.pad(x, [1, 1, 1, 1], mode="replicate")
    with torch.no_grad():
        direct = model(x)
        by_hand = model(padded)[:, :, 1:-1, 1:-1]
    torch.testing.assert_close(direct, by_hand)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(spatial_dims=1), "spatial_dims"),
        (dict(spatial_dims=4), "spatial_dims"),
        (dict(in_channels=0), "in_channels"),
        (dict(out_channels=-1), "out_channels"),
        (dict(in_channels=1.5), "in_channels"),
        (dict(channels=(8,)), "channels"),
        (dict(channels=(8, 12)), "channels"),  # 12 not divisible by 8 groups
        (dict(channels=(8, 0)), "channels"),
        (dict(num_res_blocks=0), "num_res_blocks"),
        (dict(norm_groups=0), "norm_groups"),
        (dict(upsample="trilinear"), "upsample"),
    ],
)
@pytest.mark.parametrize("cls", [UNet, VQUNet])
def test_bad_arguments_raise_value_error_naming_them(cls: type, kwargs: dict, name: str) -> None:
    args = dict(spatial_dims=2, in_channels=1, out_channels=2, channels=(8, 16), norm_groups=8)
    args.update(kwargs)
    with pytest.raises(ValueError, match=name):
        cls(**args)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        (dict(codebook_size=1), "codebook_size"),
        (dict(codebook_dim=0), "codebook_dim"),
        (dict(beta=-0.1), "beta"),
        (dict(beta_on="both"), "beta_on"),
        (dict(codebook_init="random"), "codebook_init"),
        (dict(ema_decay=1.0), "ema_decay"),
        (dict(dead_code_threshold=-1.0), "dead_code_threshold"),
    ],
)
def test_bad_quantizer_arguments_raise(kwargs: dict, name: str) -> None:
    with pytest.raises(ValueError, match=name):
        VQUNet(2, 1, 2, channels=(8, 16), **kwargs)


@pytest.mark.parametrize("shape", [(1, 32, 32), (1, 2, 32, 32), (1, 1, 8, 8, 8), (1, 1, 0, 16)])
def test_bad_input_shapes_raise_value_error(shape: tuple) -> None:
    model = UNet(2, 1, 2, **SMALL)
    with pytest.raises(ValueError):
        model(torch.rand(*shape))
