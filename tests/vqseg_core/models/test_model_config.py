"""ModelConfig round trip and build_model."""

from __future__ import annotations

import json

import pytest
import torch

from vqseg_core.models import ModelConfig, UNet, VQUNet, build_model


def test_config_round_trips_through_json() -> None:
    cfg = ModelConfig(
        kind="vqunet", spatial_dims=3, channels=(8, 16), norm_groups=4, ema_decay=0.99
    )
    again = ModelConfig.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg


def test_build_model_respects_kind_and_options() -> None:
    unet = build_model(ModelConfig(kind="unet", channels=(8, 16), norm_groups=4))
    assert type(unet) is UNet
    vq = build_model(
        ModelConfig(channels=(8, 16), norm_groups=4, codebook_size=32, codebook_dim=8, cosine=True)
    )
    assert isinstance(vq, VQUNet) and vq.quantizer.cosine
    assert vq.quantizer.codebook.shape == (32, 8)
    assert vq(torch.rand(1, 1, 8, 8)).shape == (1, 2, 8, 8)


def test_unknown_keys_and_kinds_are_refused() -> None:
    with pytest.raises(ValueError, match="typo"):
        ModelConfig.from_dict({"kind": "unet", "typo": 1})
    with pytest.raises(ValueError, match="kind"):
        ModelConfig(kind="resnet")
