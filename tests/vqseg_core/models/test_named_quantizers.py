"""Named quantisers (Encoding.latents, ModelOutput.quantizers, vq_loss) and the skip hook."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vqseg_core.models import UNet, VectorQuantizer, VQUNet
from vqseg_core.models import quantizer as quantizer_module
from vqseg_core.models.output import Encoding, Latent, ModelOutput, QuantizerOutput

SMALL = dict(channels=(8, 16, 32), norm_groups=4)
SMALL_VQ = dict(SMALL, codebook_size=32, codebook_dim=16)


def _model(kind: str, spatial_dims: int) -> UNet:
    torch.manual_seed(0)
    if kind == "unet":
        return UNet(spatial_dims, 1, 3, **SMALL)
    return VQUNet(spatial_dims, 1, 3, **SMALL_VQ)


def _reference_logits(model: UNet, x: torch.Tensor) -> torch.Tensor:
    """The forward pass as it was before the skip hook: skips go straight to the decoder."""
    x, pads = model._pad(x)
    h = model.stem(x)
    skips = []
    for i, block in enumerate(model.encoder):
        h = block(h)
        if i < len(model.downs):
            skips.append(h)
            h = model.downs[i](h)
    _, h, _ = model.bottleneck(h)
    for up, block, skip in zip(model.ups, model.decoder, reversed(skips), strict=True):
        h = block(torch.cat([up(h), skip], dim=1))
    return model._crop(model.head(h), pads)


class _SkipQuantised(VQUNet):
    """A VQ-UNet that also quantises one skip level (what the hook is for)."""

    def __init__(self, spatial_dims: int, level: int = 1, out_channels: int = 3) -> None:
        super().__init__(spatial_dims, 1, out_channels, **SMALL_VQ)
        self.level = level
        self.skip_quantizer = VectorQuantizer(codebook_size=8, codebook_dim=self.channels[level])

    def skip(self, level, h):
        if level != self.level:
            return super().skip(level, h)
        vq = self.skip_quantizer(h)
        return vq.quantized, Latent(h, vq.quantized, vq.indices), vq


class _PlainSkipQuantised(_SkipQuantised):
    """Quantised skip, plain (unquantised) bottleneck."""

    def bottleneck(self, h):
        return UNet.bottleneck(self, h)


@pytest.mark.parametrize("kind", ["unet", "vqunet"])
@pytest.mark.parametrize("spatial", [(32, 24), (33, 17), (16, 12, 8), (20, 13, 9)])
def test_default_hook_changes_nothing(kind: str, spatial: tuple) -> None:
    model = _model(kind, len(spatial)).eval()
    x = torch.rand(2, 1, *spatial)
    with torch.no_grad():
        reference = _reference_logits(model, x)
        out = model.forward_with_aux(x)
        assert torch.equal(model(x), reference)
        enc = model.encode(x)
    assert torch.equal(out.logits, reference)
    assert dict(enc.skips) == {} and dict(out.encoding.skips) == {}
    assert list(enc.latents) == ["bottleneck"]
    latent = enc.latents["bottleneck"]
    assert latent.features is enc.features
    assert latent.quantized is enc.quantized and latent.indices is enc.indices
    if kind == "unet":
        assert out.vq is None and dict(out.quantizers) == {} and out.vq_loss is None
    else:
        assert out.vq is not None and list(out.quantizers) == ["bottleneck"]
        assert out.quantizers["bottleneck"] is out.vq
        assert out.vq_loss is out.vq.loss


def test_vq_loss_is_the_bottleneck_loss_in_training() -> None:
    model = _model("vqunet", 2).train()
    out = model.forward_with_aux(torch.rand(2, 1, 16, 16))
    assert out.vq is not None
    assert torch.equal(out.vq_loss, out.vq.loss)


def test_default_skip_hook_is_the_identity() -> None:
    h = torch.rand(1, 8, 4, 4)
    skip, latent, vq = UNet(2, 1, 2, **SMALL).skip(0, h)
    assert skip is h and latent is None and vq is None


@pytest.mark.parametrize("spatial", [(32, 24), (16, 12, 8)])
def test_a_quantised_skip_is_named_and_reaches_the_decoder(spatial: tuple) -> None:
    torch.manual_seed(0)
    model = _SkipQuantised(len(spatial), level=1).eval()
    x = torch.rand(2, 1, *spatial)
    with torch.no_grad():
        out = model.forward_with_aux(x)
        enc = model.encode(x)
        plain = _reference_logits(model, x)  # the same weights, skip not quantised
    assert list(enc.latents) == ["bottleneck", "skip1"]
    assert list(out.encoding.latents) == ["bottleneck", "skip1"]
    assert list(out.quantizers) == ["bottleneck", "skip1"]
    skip = enc.latents["skip1"]
    half = tuple(s // 2 for s in model.padded_shape(spatial))
    assert skip.features.shape == (2, 16, *half)
    assert skip.indices is not None and skip.indices.shape == (2, *half)
    assert torch.equal(skip.indices, out.encoding.skips["skip1"].indices)
    torch.testing.assert_close(out.vq_loss, out.vq.loss + out.quantizers["skip1"].loss)
    assert not torch.equal(out.logits, plain)  # the decoder saw the quantised skip
    # the encoder continues from the unquantised features: the bottleneck is unchanged
    with torch.no_grad():
        ref = VQUNet.encode(model, x)
    assert torch.equal(enc.features, ref.features)


def test_skip_quantisers_without_a_quantised_bottleneck() -> None:
    torch.manual_seed(0)
    model = _PlainSkipQuantised(2, level=0).train()
    out = model.forward_with_aux(torch.rand(2, 1, 16, 16))
    assert out.vq is None and out.encoding.quantized is None
    assert list(out.quantizers) == ["skip0"]
    assert out.vq_loss is out.quantizers["skip0"].loss
    assert list(out.encoding.latents) == ["bottleneck", "skip0"]


def test_model_output_defaults() -> None:
    t = torch.zeros(())
    vq = QuantizerOutput(t, t.long(), torch.tensor(1.0), t, t, t.long(), t)
    enc = Encoding(features=torch.zeros(1, 2, 3))
    assert dict(ModelOutput(t, enc, vq).quantizers) == {"bottleneck": vq}  # older callers
    two = ModelOutput(t, enc, vq, {"bottleneck": vq, "skip0": vq})
    assert float(two.vq_loss) == 2.0
    assert ModelOutput(t, enc).vq_loss is None


def test_nearest_codes_in_chunks_equals_one_pass(monkeypatch: pytest.MonkeyPatch) -> None:
    g = torch.Generator().manual_seed(0)
    flat, codebook = torch.randn(1000, 8, generator=g), torch.randn(16, 8, generator=g)
    whole = quantizer_module.nearest_codes(flat, codebook)
    monkeypatch.setattr(quantizer_module, "DISTANCE_CHUNK", 16 * 7)  # 7 rows at a time
    assert torch.equal(quantizer_module.nearest_codes(flat, codebook), whole)


def test_training_logs_every_quantiser(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from vqseg_core.train import loop
    from vqseg_core.train.config import (
        DataConfig,
        LoggingConfig,
        OptimConfig,
        ScheduleConfig,
        TrainConfig,
    )
    from vqseg_core.train.data import Sample

    monkeypatch.setattr(
        loop, "build_model", lambda config: _SkipQuantised(2, 0, config.out_channels)
    )
    rng = np.random.default_rng(0)

    def sample(i: int) -> Sample:
        label = (rng.random((16, 16)) > 0.5).astype(np.int64)
        image = (label + rng.normal(0, 0.2, label.shape)).astype(np.float32)[None]
        return Sample(image=image, label=label, case_id=f"c{i}", spacing=(1.0, 1.0))

    config = TrainConfig(
        data=DataConfig(dataset="synthetic"),
        optim=OptimConfig(lr=1e-3, batch_size=2),
        schedule=ScheduleConfig(steps=3, val_every=3, checkpoint_every=3, checkpoint_minutes=None),
        logging=LoggingConfig(progress=False),
        precision="fp32",
        name="tiny",
    )
    data = ([sample(i) for i in range(3)], [sample(9)])
    loop.train(config, tmp_path / "run", data=data, device="cpu", echo=lambda _m: None)
    lines = (tmp_path / "run" / "log.jsonl").read_text(encoding="utf-8").splitlines()
    records = [r for r in map(json.loads, lines) if r["type"] == "train"]
    assert len(records) == 3
    for r in records:
        assert {"used_codes_skip0", "perplexity_skip0", "used_codes", "vq_loss"} <= set(r)
        assert 1 <= r["used_codes_skip0"] <= 8
        assert "used_codes_bottleneck" not in r
