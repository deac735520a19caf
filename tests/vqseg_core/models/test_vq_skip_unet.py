"""VQSkipUNet (kind="vqskip"): every quantiser's invariants, config round trip, training."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vqseg_core.models import ModelConfig, VQSkipUNet, build_model

SMALL = dict(
    out_channels=3, channels=(8, 16, 32), norm_groups=4, codebook_size=32, codebook_dim=16
)
SHAPES = [(32, 24), (16, 12, 8)]


def _config(spatial_dims: int, **changes) -> ModelConfig:
    return ModelConfig(
        kind="vqskip", spatial_dims=spatial_dims, skip_codebook_size=16, **{**SMALL, **changes}
    )


def _model(spatial_dims: int, **changes) -> VQSkipUNet:
    torch.manual_seed(0)
    model = build_model(_config(spatial_dims, **changes))
    assert isinstance(model, VQSkipUNet)
    return model


def _images(spatial: tuple, n: int = 2) -> torch.Tensor:
    """Structured images (a bright box at a different place in each) so codes differ."""
    g = torch.Generator().manual_seed(1)
    x = 0.1 * torch.rand(n, 1, *spatial, generator=g)
    for i in range(n):
        box = tuple(slice(i * s // 4, i * s // 4 + s // 2) for s in spatial)
        x[(i, 0, *box)] += 1.0
    return x


def _trained(spatial: tuple) -> VQSkipUNet:
    """A model whose codebooks are k-means fitted to the images' latents (one training pass)."""
    model = _model(len(spatial), codebook_init="kmeans").train()
    with torch.no_grad():
        model.forward_with_aux(_images(spatial, 4))
    return model.eval()


@pytest.mark.parametrize("spatial", SHAPES)
def test_every_quantiser_snaps_to_its_codebook(spatial: tuple) -> None:
    model = _trained(spatial)
    with torch.no_grad():
        latents = model.encode(_images(spatial)).latents
    assert list(latents) == ["bottleneck", "skip0", "skip1"]
    codebooks = {"bottleneck": model.quantizer.codebook, **{
        name: q.codebook for name, q in model.skip_quantizers.items()
    }}
    for name, latent in latents.items():
        assert latent.quantized is not None and latent.indices is not None, name
        assert latent.quantized.shape == latent.features.shape, name
        assert latent.indices.shape == (latent.features.shape[0], *latent.features.shape[2:])
        expected = codebooks[name][latent.indices].movedim(-1, 1)
        assert torch.equal(latent.quantized, expected), name
    full, half = model.padded_shape(spatial), tuple(s // 2 for s in model.padded_shape(spatial))
    assert latents["skip0"].features.shape == (2, 8, *full)
    assert latents["skip1"].features.shape == (2, 16, *half)
    assert model.skip_quantizers["skip0"].codebook.shape == (16, 8)
    assert model.skip_quantizers["skip1"].codebook.shape == (16, 16)


@pytest.mark.parametrize("spatial", SHAPES)
def test_indices_depend_on_the_image(spatial: tuple) -> None:
    model = _trained(spatial)
    with torch.no_grad():
        latents = model.encode(_images(spatial)).latents
    differ = {n: not torch.equal(v.indices[0], v.indices[1]) for n, v in latents.items()}
    assert differ["bottleneck"], differ
    assert differ["skip0"] or differ["skip1"], differ


@pytest.mark.parametrize("spatial", SHAPES)
def test_forward_reports_every_quantiser(spatial: tuple) -> None:
    model = _model(len(spatial)).train()
    x = _images(spatial)
    out = model.forward_with_aux(x)
    assert out.logits.shape == (2, 3, *spatial)
    assert list(out.quantizers) == ["bottleneck", "skip0", "skip1"]
    assert out.quantizers["bottleneck"] is out.vq
    total = out.vq.loss + out.quantizers["skip0"].loss + out.quantizers["skip1"].loss
    torch.testing.assert_close(out.vq_loss, total)
    for name, q in out.quantizers.items():
        assert torch.equal(q.indices, out.encoding.latents[name].indices)
    model.eval()
    with torch.no_grad():
        assert torch.equal(model(x), model.forward_with_aux(x).logits)


@pytest.mark.parametrize("spatial", SHAPES)
def test_config_round_trip_loads_strictly_and_gives_the_same_logits(spatial: tuple) -> None:
    config = _config(len(spatial), quantized_skips=[1])
    saved = json.loads(json.dumps(config.to_dict()))
    assert saved["kind"] == "vqskip" and saved["quantized_skips"] == [1]
    torch.manual_seed(0)
    model = build_model(config).train()
    model.forward_with_aux(_images(spatial))  # move the usage buffers off their start
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert any(k.startswith("skip_quantizers.skip1.") for k in state)
    torch.manual_seed(123)
    fresh = build_model(ModelConfig.from_dict(saved))
    fresh.load_state_dict(state, strict=True)
    model.eval()
    fresh.eval()
    x = _images(spatial)
    with torch.no_grad():
        assert torch.equal(model(x), fresh(x))


@pytest.mark.parametrize("spatial", SHAPES)
def test_gradients_reach_every_codebook_and_the_encoder(spatial: tuple) -> None:
    model = _model(len(spatial)).train()
    out = model.forward_with_aux(_images(spatial))
    (out.logits.square().mean() + out.vq_loss).backward()
    for name, q in [("bottleneck", model.quantizer), *model.skip_quantizers.items()]:
        assert q.codebook.grad is not None and q.codebook.grad.abs().sum() > 0, name
    for module in (model.stem, model.encoder[0], model.encoder[1]):
        grads = [p.grad for p in module.parameters()]
        assert all(g is not None for g in grads) and sum(g.abs().sum() for g in grads) > 0
    # straight-through: the segmentation loss alone reaches the full-resolution encoder level
    model.zero_grad()
    model.forward_with_aux(_images(spatial)).logits.square().mean().backward()
    assert all(p.grad is not None and p.grad.abs().sum() > 0 for p in model.stem.parameters())


def test_ema_codebooks_are_updated_not_trained() -> None:
    model = _model(2, ema_decay=0.9).train()
    before = {n: q.codebook.detach().clone() for n, q in model.skip_quantizers.items()}
    out = model.forward_with_aux(_images((32, 24)))
    out.vq_loss.backward()
    for name, q in model.skip_quantizers.items():
        assert q.codebook.grad is None and not torch.equal(q.codebook, before[name])


def test_quantized_skips_selects_the_levels() -> None:
    model = _model(2, quantized_skips=(0,)).eval()
    assert model.quantized_skips == (0,) and list(model.skip_quantizers) == ["skip0"]
    with torch.no_grad():
        out = model.forward_with_aux(_images((32, 24)))
    assert list(out.encoding.latents) == ["bottleneck", "skip0"]
    assert list(out.quantizers) == ["bottleneck", "skip0"]
    assert _model(2).quantized_skips == (0, 1)


@pytest.mark.parametrize("bad", [(2,), (-1,), (0, 0), (True,)])
def test_bad_quantized_skips_are_refused(bad: tuple) -> None:
    with pytest.raises(ValueError, match="quantized_skips"):
        VQSkipUNet(2, 1, 2, channels=(8, 16, 32), norm_groups=4, quantized_skips=bad)


def test_skip_quantisers_share_the_bottleneck_options() -> None:
    model = VQSkipUNet(
        2, 1, 2, channels=(8, 16), norm_groups=4, codebook_size=8, codebook_dim=4, beta=0.5,
        beta_on="commitment", codebook_init="kmeans", ema_decay=0.95, dead_code_threshold=0.1,
        cosine=True, skip_codebook_size=32,
    )
    (q,) = model.skip_quantizers.values()
    assert (q.codebook_size, q.codebook_dim, q.beta, q.beta_on) == (32, 8, 0.5, "commitment")
    assert (q.codebook_init, q.ema_decay, q.dead_code_threshold, q.cosine) == (
        "kmeans", 0.95, 0.1, True
    )


def test_trains_and_logs_every_skip(tmp_path: Path) -> None:
    from vqseg_core.train.config import (
        DataConfig,
        LoggingConfig,
        OptimConfig,
        ScheduleConfig,
        TrainConfig,
    )
    from vqseg_core.train.data import Sample
    from vqseg_core.train.loop import train

    rng = np.random.default_rng(0)

    def sample(i: int) -> Sample:
        label = np.zeros((16, 16), dtype=np.int64)
        label[i : i + 8, 4:12] = 1
        image = (label + rng.normal(0, 0.2, label.shape)).astype(np.float32)[None]
        return Sample(image=image, label=label, case_id=f"c{i}", spacing=(1.0, 1.0))

    config = TrainConfig(
        model=ModelConfig(
            kind="vqskip", channels=(8, 16), norm_groups=4, codebook_size=16, codebook_dim=8,
            skip_codebook_size=8, codebook_init="kmeans",
        ),
        data=DataConfig(dataset="synthetic"),
        optim=OptimConfig(lr=1e-3, batch_size=2),
        schedule=ScheduleConfig(steps=3, val_every=3, checkpoint_every=3, checkpoint_minutes=None),
        logging=LoggingConfig(progress=False),
        precision="fp32",
        name="tiny",
    )
    data = ([sample(i) for i in range(4)], [sample(6)])
    train(config, tmp_path / "run", data=data, device="cpu", echo=lambda _m: None)
    lines = (tmp_path / "run" / "log.jsonl").read_text(encoding="utf-8").splitlines()
    records = [r for r in map(json.loads, lines) if r["type"] == "train"]
    assert [r["step"] for r in records] == [1, 2, 3]
    for r in records:
        assert 1 <= r["used_codes_skip0"] <= 8 and r["perplexity_skip0"] >= 1.0
        assert 1 <= r["used_codes"] <= 16
        assert r["loss"] == pytest.approx(r["seg_loss"] + r["vq_loss"], rel=1e-5)
