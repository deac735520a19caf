"""Path probes: split the skip and bottleneck paths, destroy the bottleneck, certify codes."""

from __future__ import annotations

import math

import pytest
import torch

from vqseg_core.analysis.paths import ablated_logits, certified_fraction, split_logits
from vqseg_core.models import ModelConfig, build_model


def _model(kind: str, **extra) -> torch.nn.Module:
    torch.manual_seed(0)
    config = ModelConfig(kind=kind, channels=(4, 8, 16), norm_groups=2, out_channels=3,
                         codebook_size=16, codebook_dim=8, **extra)  # fmt: skip
    return build_model(config).eval()


@pytest.mark.parametrize("kind", ["unet", "vqunet", "vqskip"])
def test_decoding_both_paths_of_one_image_is_the_forward_pass(kind) -> None:
    model, x = _model(kind), torch.rand(2, 1, 20, 24)
    with torch.no_grad():
        expected = model(x)
        h, skips, pads = model.paths(x)
        torch.testing.assert_close(model.decode(h, skips, pads), expected)
    torch.testing.assert_close(split_logits(model, x, x), expected)
    torch.testing.assert_close(ablated_logits(model, x, "swap", other=x), expected)


def test_the_bottleneck_matters_and_each_path_is_taken_from_its_own_image() -> None:
    model = _model("unet")
    a, b = torch.rand(1, 1, 16, 16), torch.rand(1, 1, 16, 16)
    with torch.no_grad():
        out_a = model(a)
    zero = ablated_logits(model, a, "zero")
    mean = ablated_logits(model, a, "mean", mean=torch.zeros(16))
    torch.testing.assert_close(zero, mean)  # a zero mean is the zero ablation
    assert not torch.allclose(zero, out_a)
    mixed = split_logits(model, a, b)
    assert not torch.allclose(mixed, out_a) and not torch.allclose(mixed, split_logits(model, b, a))


def test_certified_fraction_is_one_without_noise_and_nan_without_a_quantiser() -> None:
    x = torch.rand(2, 1, 16, 16)
    vq = _model("vqunet", codebook_init="kmeans")
    with torch.no_grad():
        vq.train()(x)  # the k-means init spreads the codes over the latents
        vq.eval()
    assert certified_fraction(vq, x, x) == 1.0
    noisy = x + 5.0 * torch.randn_like(x)
    assert 0.0 <= certified_fraction(vq, x, noisy) < 1.0
    assert math.isnan(certified_fraction(_model("unet"), x, x))


def test_unknown_ablation_is_refused() -> None:
    with pytest.raises(ValueError, match="mode must be one of"):
        ablated_logits(_model("unet"), torch.rand(1, 1, 8, 8), "noise")
