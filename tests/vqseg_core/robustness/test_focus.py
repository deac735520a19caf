"""Volumes with a displayed slice: focus-first partial labels, slice latents, the 3D notice."""

from __future__ import annotations

import numpy as np
import torch

from vqseg_core.data.preprocess import RECIPES
from vqseg_core.models import ModelConfig, build_model
from vqseg_core.pretrained import ModelPair
from vqseg_core.robustness import PartialLabels, analyse, iter_analyse


def _pair(spatial_dims: int, patch_size=None) -> ModelPair:
    torch.manual_seed(0)
    models = {
        kind: build_model(
            ModelConfig(kind=kind, spatial_dims=spatial_dims, out_channels=3, channels=(4, 8),
                        norm_groups=2, codebook_size=16, codebook_dim=8)
        ).eval()
        for kind in ("unet", "vqunet")
    }  # fmt: skip
    return ModelPair("untrained", models, RECIPES["brain_mri"], {1: "a", 2: "b"},
                     {"unet": "0", "vqunet": "0"}, patch_size=patch_size)  # fmt: skip


def _volume(shape=(20, 18, 40)) -> np.ndarray:
    return (100 + 50 * np.random.default_rng(0).random(shape)).astype(np.float32)


def _consume(gen):
    partials = []
    while True:
        try:
            partials.append(next(gen))
        except StopIteration as stop:
            return partials, stop.value


def test_2d_slice_model_yields_both_focus_masks_then_slice_latents() -> None:
    pair, vol = _pair(2), _volume()
    steps = iter_analyse(pair, vol, (1.0, 1.0, 1.0), level=10, n_draws=3, device="cpu",
                         precision="fp32", focus=33)  # fmt: skip
    partials, view = _consume(steps)
    assert [p.model for p in partials] == ["unet", "vqunet"]
    for p in partials:
        assert isinstance(p, PartialLabels) and p.z_range[0] <= 33 < p.z_range[1]
        np.testing.assert_array_equal(p.labels[..., 33], view.models[p.model].labels[..., 33])
    assert view.latents_available and view.latent_slice == 33 and "slice 33" in view.latent_note
    vq = view.models["vqunet"]
    assert vq.flip_map.shape == vq.indices.shape == view.models["unet"].latent_variance.shape
    assert vq.indices.shape[-1] == 1 and len(view.latent_scale) == 3
    assert view.latent_translate[2] == 33.0
    # without a focus: the same labels (up to kernel rounding), no latent maps
    single = analyse(pair, vol, (1.0, 1.0, 1.0), level=10, n_draws=3, device="cpu",
                     precision="fp32")  # fmt: skip
    assert single.latent_slice is None and not single.latents_available
    assert np.mean(single.models["unet"].labels == view.models["unet"].labels) > 0.999


def test_windowed_3d_network_has_labels_and_says_why_no_latents() -> None:
    pair, vol = _pair(3, patch_size=(8, 8, 8)), _volume((20, 18, 30))
    partials, view = _consume(iter_analyse(pair, vol, level=10, n_draws=2, device="cpu",
                                           precision="fp32", focus=4))  # fmt: skip
    assert [p.model for p in partials] == ["unet", "vqunet"]
    assert not view.latents_available and "sliding window" in view.latent_note
    assert view.models["vqunet"].labels.shape == vol.shape


def test_pair_predict_takes_a_focus_and_a_cancel() -> None:
    import pytest

    from vqseg_core.volume import Cancelled

    pair, vol = _pair(3, patch_size=(8, 8, 8)), _volume((20, 18, 30))
    plain = pair.predict(vol, device="cpu", precision="fp32")
    focused = pair.predict(vol, device="cpu", precision="fp32", focus=25)
    for key in ("unet", "vqunet"):
        assert focused[key].dtype == np.uint8 and focused[key].shape == vol.shape
        assert np.mean(plain[key] == focused[key]) > 0.999
    with pytest.raises(Cancelled):
        pair.predict(vol, device="cpu", cancel=lambda: True)
