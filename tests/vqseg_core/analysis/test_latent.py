"""Latent variance, code flips and flip radius."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vqseg_core.analysis import (
    code_flip_map,
    code_flip_rate,
    encode_batched,
    flip_radius,
    latent_statistics,
    latent_variance,
)
from vqseg_core.models import UNet, VQUNet
from vqseg_core.models.quantizer import nearest_codes


def _vq_model() -> VQUNet:
    torch.manual_seed(0)
    return VQUNet(
        2, 1, 2, channels=(8, 16, 32), norm_groups=4, codebook_size=32, codebook_dim=8
    ).eval()


@settings(max_examples=200, deadline=None)
@given(
    n=st.integers(1, 6),
    shape=st.lists(st.integers(1, 4), min_size=2, max_size=4),
    seed=st.integers(0, 2**31 - 1),
)
def test_batched_variance_equals_loop_and_is_nonnegative(
    n: int, shape: list[int], seed: int
) -> None:
    x = torch.randn(n, *shape, generator=torch.Generator().manual_seed(seed))
    var = latent_variance(x)
    assert var.shape == tuple(shape)
    assert (var >= 0).all()
    # the looped computation over draws, element by element
    mean = sum(x[i].double() for i in range(n)) / n
    looped = sum((x[i].double() - mean) ** 2 for i in range(n)) / n
    torch.testing.assert_close(var, looped.float(), rtol=1e-5, atol=1e-6)


def test_variance_is_zero_for_identical_draws() -> None:
    x = torch.randn(1, 4, 3, 3).expand(7, -1, -1, -1)
    assert torch.equal(latent_variance(x), torch.zeros(4, 3, 3))


def test_code_flip_map_and_rate() -> None:
    clean = torch.tensor([[1, 2], [3, 4]])
    draws = torch.stack([clean, torch.tensor([[1, 0], [3, 4]]), torch.tensor([[0, 0], [3, 4]])])
    # position (0, 0): codes 1, 1, 0 vs 1 -> 1/3; position (0, 1): 2, 0, 0 vs 2 -> 2/3
    torch.testing.assert_close(code_flip_map(draws, clean), torch.tensor([[1 / 3, 2 / 3], [0, 0]]))
    assert code_flip_rate(draws, clean) == pytest.approx(0.25)


def test_flip_radius_on_a_known_codebook() -> None:
    codebook = torch.tensor([[0.0, 0.0], [2.0, 0.0], [0.0, 10.0]])
    z = torch.tensor([[0.5, 0.0], [0.0, 3.0]]).t().reshape(1, 2, 2)  # (B=1, D=2, L=2)
    radius = flip_radius(z, codebook)
    # (0.5, 0): bisector with (2, 0) at x=1 -> 0.5; with (0, 10) at y=5 -> 5
    # (0, 3): bisector with (2, 0) -> distance 1; with (0, 10) -> 2
    torch.testing.assert_close(radius, torch.tensor([[0.5, 1.0]]))


def test_shift_inside_flip_radius_never_changes_the_code() -> None:
    g = torch.Generator().manual_seed(0)
    codebook = torch.randn(64, 8, generator=g)
    z = torch.randn(200, 8, generator=g)
    radius = flip_radius(z.t().reshape(1, 8, 200), codebook).reshape(200)
    direction = torch.nn.functional.normalize(torch.randn(200, 8, generator=g), dim=1)
    inside = z + direction * radius[:, None] * 0.99
    assert torch.equal(nearest_codes(inside, codebook), nearest_codes(z, codebook))
    # and along the worst direction, just past the radius, some codes do change
    c = nearest_codes(z, codebook)
    d = (z[:, None] - codebook[None]).pow(2).sum(-1)
    gap = (codebook[None] - codebook[c][:, None]).norm(dim=-1)
    ratio = (d - d.gather(1, c[:, None])) / (2 * gap)
    ratio[gap == 0] = float("inf")
    j = ratio.argmin(1)
    normal = torch.nn.functional.normalize(codebook[j] - codebook[c], dim=1)
    outside = z + normal * radius[:, None] * 1.01
    assert (nearest_codes(outside, codebook) != c).all()


def test_encode_batched_matches_one_batch() -> None:
    model = _vq_model()
    x = torch.rand(5, 1, 32, 32, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        whole = model.encode(x)
    parts = encode_batched(model, x, batch_size=2)
    torch.testing.assert_close(parts.features, whole.features)
    assert torch.equal(parts.indices, whole.indices)


def test_latent_statistics_for_vq_and_plain_models() -> None:
    g = torch.Generator().manual_seed(2)
    clean = torch.rand(1, 1, 32, 32, generator=g)
    draws = (clean + 0.2 * torch.randn(6, 1, 32, 32, generator=g)).clamp(0, 1)
    stats = latent_statistics(_vq_model(), clean, draws, batch_size=4)
    assert stats.variance.shape == (8, 8, 8) and stats.mean_variance > 0
    assert stats.flip_map is not None and stats.flip_map.shape == (8, 8)
    assert 0.0 <= stats.flip_rate <= 1.0
    assert stats.radius is not None and (stats.radius >= 0).all()
    assert 0.0 <= stats.within_radius <= 1.0
    assert stats.quantized_variance is not None and stats.n_draws == 6
    # identical draws: nothing moves
    same = latent_statistics(_vq_model(), clean, clean.expand(4, -1, -1, -1))
    assert (
        same.mean_variance == 0.0 and same.flip_rate == 0.0 and same.mean_quantized_variance == 0.0
    )
    torch.manual_seed(0)
    plain = latent_statistics(UNet(2, 1, 2, channels=(8, 16), norm_groups=4).eval(), clean, draws)
    assert plain.flip_rate is None and plain.radius is None and plain.mean_variance > 0


def test_latent_statistics_rejects_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="clean"):
        latent_statistics(_vq_model(), torch.rand(1, 1, 16, 16), torch.rand(3, 1, 8, 8))
