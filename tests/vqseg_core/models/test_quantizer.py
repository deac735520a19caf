"""The vector quantiser: invariants, gradients, float32 under autocast, options beyond the paper."""

from __future__ import annotations

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from vqseg_core.models import VectorQuantizer, VQUNet
from vqseg_core.models.quantizer import kmeans, nearest_codes


def _latents(seed: int, shape=(2, 8, 4, 4)) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed))


def test_paper_defaults() -> None:
    vq = VectorQuantizer()
    k = vq.codebook_size
    assert (k, vq.codebook_dim, vq.beta, vq.beta_on) == (1024, 256, 0.25, "codebook")
    assert vq.codebook.shape == (1024, 256)
    assert vq.codebook.abs().max() <= 1 / k
    assert vq.codebook.requires_grad
    assert vq.ema_decay is None and vq.dead_code_threshold is None and not vq.cosine


@settings(max_examples=200, deadline=None)
@given(
    seed=st.integers(0, 2**31 - 1),
    k=st.integers(2, 40),
    spatial=st.lists(st.integers(1, 5), min_size=2, max_size=3),
)
def test_eval_quantized_equals_codebook_at_indices(seed: int, k: int, spatial: list[int]) -> None:
    torch.manual_seed(seed)
    vq = VectorQuantizer(codebook_size=k, codebook_dim=6).eval()
    vq.codebook.data.normal_()
    z = torch.randn(2, 6, *spatial)
    out = vq(z)
    assert out.indices.shape == (2, *spatial)
    assert int(out.indices.min()) >= 0 and int(out.indices.max()) < k
    expected = vq.codebook[out.indices].movedim(-1, 1)
    assert torch.equal(out.quantized, expected)
    # and the index really is the nearest code (brute force)
    flat = z.movedim(1, -1).reshape(-1, 6)
    brute = torch.cdist(flat, vq.codebook.detach()).argmin(1)
    d_brute = (flat - vq.codebook[brute]).norm(dim=1)
    d_ours = (flat - vq.codebook[out.indices.reshape(-1)]).norm(dim=1)
    torch.testing.assert_close(d_ours, d_brute)


def test_straight_through_gradient_is_identity_to_latents() -> None:
    vq = VectorQuantizer(codebook_size=16, codebook_dim=8)
    z = _latents(0).requires_grad_()
    out = vq(z)
    out.quantized.sum().backward()
    assert torch.equal(z.grad, torch.ones_like(z))


def test_straight_through_gradient_reaches_the_encoder() -> None:
    torch.manual_seed(0)
    model = VQUNet(2, 1, 2, channels=(8, 16), norm_groups=4, codebook_size=16, codebook_dim=8)
    model.forward(torch.rand(2, 1, 16, 16)).sum().backward()
    for name in ("stem.weight", "encoder.1.0.body.2.weight", "pre_quant.weight"):
        grad = dict(model.named_parameters())[name].grad
        assert grad is not None and grad.abs().sum() > 0, name


@pytest.mark.parametrize("beta_on", ["codebook", "commitment"])
def test_beta_weights_the_configured_term(beta_on: str) -> None:
    beta = 0.25
    vq = VectorQuantizer(codebook_size=16, codebook_dim=8, beta=beta, beta_on=beta_on)
    vq.codebook.data.normal_(generator=torch.Generator().manual_seed(1))
    z = _latents(2).requires_grad_()
    out = vq(z)
    out.loss.backward()
    # reference gradients of the unweighted terms, computed by hand
    flat = z.detach().movedim(1, -1).reshape(-1, 8)
    codes = vq.codebook.detach().clone().requires_grad_()
    q = codes[out.indices.reshape(-1)]
    torch.nn.functional.mse_loss(q, flat).backward()  # codebook term: moves the codes
    flat_req = flat.clone().requires_grad_()
    torch.nn.functional.mse_loss(flat_req, q.detach()).backward()  # commitment term
    commit_grad = flat_req.grad.reshape(2, 4, 4, 8).movedim(-1, 1)
    w_codebook, w_commit = (beta, 1.0) if beta_on == "codebook" else (1.0, beta)
    torch.testing.assert_close(vq.codebook.grad, w_codebook * codes.grad)
    torch.testing.assert_close(z.grad, w_commit * commit_grad)
    torch.testing.assert_close(
        out.loss, w_codebook * out.codebook_loss + w_commit * out.commitment_loss
    )


def test_two_different_images_give_different_index_maps() -> None:
    """Regression test for the authors' bug: indices must depend on the image.

    Their code replaced the bottleneck features by a positional encoding, so every image got the
    same code map and latent variance under noise was zero by construction.
    """
    torch.manual_seed(0)
    model = VQUNet(2, 1, 2, channels=(8, 16, 32), norm_groups=4, codebook_size=64, codebook_dim=16)
    model.eval()
    yy, xx = torch.meshgrid(torch.linspace(0, 1, 64), torch.linspace(0, 1, 64), indexing="ij")
    disc = (((yy - 0.5) ** 2 + (xx - 0.5) ** 2) < 0.1).float()
    a = disc[None, None]
    b = torch.rand(1, 1, 64, 64, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        ia, ib = model.encode(a).indices, model.encode(b).indices
        ia2 = model.encode(a).indices
    assert torch.equal(ia, ia2)
    assert not torch.equal(ia, ib)
    assert (ia != ib).float().mean() > 0.2


def test_bf16_autocast_gives_float32_indices() -> None:
    """The quantiser computes distances and argmin in float32 even under bf16 autocast."""
    vq = VectorQuantizer(codebook_size=512, codebook_dim=64).eval()
    vq.codebook.data.normal_(generator=torch.Generator().manual_seed(0))
    z = torch.randn(4, 64, 8, 8, generator=torch.Generator().manual_seed(1)).bfloat16()
    with torch.autocast("cpu", dtype=torch.bfloat16):
        under_autocast = vq(z)
    reference = vq(z.float())
    assert torch.equal(under_autocast.indices, reference.indices)
    assert under_autocast.loss.dtype == torch.float32


def test_bf16_autocast_model_indices_match_float32() -> None:
    torch.manual_seed(0)
    model = VQUNet(
        2,
        1,
        2,
        channels=(8, 16, 32),
        norm_groups=4,
        codebook_size=64,
        codebook_dim=16,
        codebook_init="kmeans",
    )
    x = torch.rand(4, 1, 64, 64, generator=torch.Generator().manual_seed(5))
    model.train()
    model(x)  # k-means initialisation from this batch puts codes among the latents
    model.eval()
    with torch.no_grad():
        ref = model.encode(x).indices
        with torch.autocast("cpu", dtype=torch.bfloat16):
            fast = model.encode(x).indices
    assert (ref == fast).float().mean() >= 0.95


def test_nearest_codes_matches_cdist() -> None:
    g = torch.Generator().manual_seed(0)
    flat, codes = torch.randn(500, 16, generator=g), torch.randn(100, 16, generator=g)
    assert torch.equal(nearest_codes(flat, codes), torch.cdist(flat, codes).argmin(1))


def test_kmeans_initialises_from_first_training_batch_only() -> None:
    torch.manual_seed(0)
    vq = VectorQuantizer(codebook_size=8, codebook_dim=4, codebook_init="kmeans")
    assert not bool(vq.initialized)
    centres = torch.tensor([[5.0, 0, 0, 0], [-5.0, 0, 0, 0], [0, 5.0, 0, 0], [0, -5.0, 0, 0]])
    pts = centres.repeat_interleave(50, 0) + 0.01 * torch.randn(200, 4)
    z = pts.t().reshape(1, 4, 200, 1)
    vq.eval()
    vq(z)
    assert not bool(vq.initialized)  # never initialised in eval mode
    vq.train()
    vq(z)
    assert bool(vq.initialized)
    first = vq.codebook.detach().clone()
    # every true centre has a code within 0.1
    assert torch.cdist(centres, first).min(1).values.max() < 0.1
    vq(z + 1.0)
    assert torch.equal(vq.codebook.detach(), first)  # no re-initialisation


def test_kmeans_with_fewer_points_than_codes() -> None:
    data = torch.randn(5, 3)
    out = kmeans(data, 12, generator=torch.Generator().manual_seed(0))
    assert out.shape == (12, 3) and torch.isfinite(out).all()


def test_ema_updates_move_codes_towards_assigned_latents() -> None:
    vq = VectorQuantizer(codebook_size=4, codebook_dim=2, ema_decay=0.5)
    assert not vq.codebook.requires_grad
    z = torch.full((1, 2, 3, 3), 2.0)
    vq.train()
    before = vq.codebook.detach().clone()
    for _ in range(20):
        out = vq(z)
    code = int(out.indices.flatten()[0])
    assert torch.allclose(vq.codebook[code], torch.tensor([2.0, 2.0]), atol=1e-3)
    others = [i for i in range(4) if i != code]
    # unused codes are not pulled towards the data (with Laplace smoothing they shrink, as in
    # VQ-VAE-2's EMA; dead-code restart exists for them)
    assert (vq.codebook[others] - 2.0).norm(dim=1).min() > 2.0
    assert before.shape == vq.codebook.shape


def test_dead_codes_are_restarted_at_batch_latents() -> None:
    torch.manual_seed(0)
    vq = VectorQuantizer(codebook_size=16, codebook_dim=4, dead_code_threshold=0.5)
    z = torch.randn(1, 4, 8, 8) + 10.0  # far from every uniform(+-1/K) code
    vq.train()
    for _ in range(80):
        vq(z)
    # most codes were dead and got restarted among the data
    dist = torch.cdist(vq.codebook.detach(), z.movedim(1, -1).reshape(-1, 4)).min(1).values
    assert (dist < 1e-4).sum() >= 8
    assert int(vq(z).used_codes) >= 4


def test_cosine_codebook_returns_unit_codes() -> None:
    vq = VectorQuantizer(codebook_size=8, codebook_dim=4, cosine=True).eval()
    out = vq(torch.randn(2, 4, 3, 3))
    norms = out.quantized.movedim(1, -1).norm(dim=-1)
    torch.testing.assert_close(norms, torch.ones_like(norms))
    expected = vq.effective_codebook()[out.indices].movedim(-1, 1)
    assert torch.equal(out.quantized, expected)


def test_usage_and_perplexity_come_from_the_same_forward() -> None:
    model = VQUNet(2, 1, 2, channels=(8, 16), norm_groups=4, codebook_size=16, codebook_dim=8)
    out = model.forward_with_aux(torch.rand(2, 1, 16, 16))
    assert out.vq is not None
    n_unique = len(torch.unique(out.encoding.indices))
    assert int(out.vq.used_codes) == n_unique
    assert 1.0 <= float(out.vq.perplexity) <= n_unique + 1e-4
    assert out.logits.shape == (2, 2, 16, 16)


def test_wrong_latent_width_raises() -> None:
    with pytest.raises(ValueError, match="expected latents"):
        VectorQuantizer(codebook_size=4, codebook_dim=8)(torch.randn(1, 7, 2, 2))
