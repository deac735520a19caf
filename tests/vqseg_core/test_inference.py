"""Predictor: whole inputs, and 2D networks on volumes slice by slice."""

from __future__ import annotations

import numpy as np
import torch

from vqseg_core.inference import Predictor
from vqseg_core.models import VQUNet


def _model() -> VQUNet:
    torch.manual_seed(0)
    return VQUNet(2, 1, 3, channels=(8, 16), norm_groups=4, codebook_size=16, codebook_dim=8)


def test_2d_network_runs_a_volume_slice_by_slice() -> None:
    predictor = Predictor(_model(), device="cpu", precision="fp32")
    volume = torch.rand(1, 1, 24, 20, 5, generator=torch.Generator().manual_seed(1))
    out = predictor.forward(volume)
    assert out.logits.shape == (1, 3, 24, 20, 5) and out.encoding is None
    for z in range(5):
        one = predictor.forward(volume[..., z]).logits
        torch.testing.assert_close(out.logits[..., z], one)
    labels = predictor.predict_labels(volume[0, 0].numpy())
    assert labels.shape == (24, 20, 5)


def test_whole_2d_input_returns_the_encoding() -> None:
    predictor = Predictor(_model(), device="cpu", precision="fp32")
    out = predictor.forward(torch.rand(2, 1, 16, 16))
    assert out.logits.shape == (2, 3, 16, 16)
    assert out.encoding is not None and out.encoding.indices.shape == (2, 8, 8)
    assert np.isfinite(out.logits.numpy()).all()
