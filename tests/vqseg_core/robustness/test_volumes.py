"""3D pairs (sliding window without latents) and z-score recipes (the [0, 1] frame round trip)."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vqseg_core.data.preprocess import RECIPES
from vqseg_core.models import ModelConfig, build_model
from vqseg_core.perturb import Corruption
from vqseg_core.pretrained import ModelPair
from vqseg_core.robustness import analyse, make_draws, prepare


def untrained_pair(recipe: str, spatial_dims: int, patch_size=None) -> ModelPair:
    torch.manual_seed(0)
    models = {
        kind: build_model(
            ModelConfig(
                kind=kind, spatial_dims=spatial_dims, out_channels=3, channels=(4, 8),
                norm_groups=2, codebook_size=16, codebook_dim=8,
            )
        ).eval()
        for kind in ("unet", "vqunet")
    }  # fmt: skip
    return ModelPair(
        "untrained", models, RECIPES[recipe], {1: "a", 2: "b"}, {"unet": "0", "vqunet": "0"},
        patch_size=patch_size,
    )  # fmt: skip


def volume(shape=(20, 18, 12), seed=0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return (100 + 50 * rng.random(shape)).astype(np.float32)


def test_large_volume_uses_the_sliding_window_and_has_no_latent_maps() -> None:
    pair = untrained_pair("brain_mri", 3, patch_size=(8, 8, 8))
    vol = volume()
    view = analyse(
        pair,
        vol,
        (1.0, 1.0, 1.0),
        level=10,
        n_draws=2,
        ground_truth=np.ones(vol.shape),
        device="cpu",
        precision="fp32",
    )
    assert not view.latents_available
    for mv in view.models.values():
        assert mv.labels.shape == vol.shape
        assert mv.latent_variance is None and mv.indices is None and mv.flip_map is None
        assert mv.scores is not None
    assert view.corrupted.shape == vol.shape


def test_small_volume_has_latent_maps() -> None:
    pair = untrained_pair("brain_mri", 3, patch_size=(32, 32, 32))
    view = analyse(
        pair, volume(), (1.0, 1.0, 1.0), level=10, n_draws=2, device="cpu", precision="fp32"
    )
    assert view.latents_available
    assert view.models["vqunet"].flip_map.shape == (10, 9, 6)
    assert view.models["unet"].latent_variance.shape == (10, 9, 6)


def test_zscore_recipe_corrupts_in_the_unit_frame_and_maps_back() -> None:
    pair = untrained_pair("prostate_mri", 3)
    vol = volume((12, 12, 6))
    prepared = prepare(pair, vol, (0.5, 0.5, 1.5))
    assert prepared.mapping is not None
    assert prepared.unit.min() >= 0.0 and prepared.unit.max() <= 1.0
    clean = make_draws(prepared, Corruption("gaussian", 0, 0), 2)
    np.testing.assert_array_equal(clean[0], prepared.x)  # identity: no lossy round trip
    noisy = make_draws(prepared, Corruption("gaussian", 10, 0), 2)
    assert noisy.shape == (2, *prepared.x.shape)
    assert not np.array_equal(noisy[0], noisy[1])
    # back in the z-score frame: the spread of the model input, not [0, 1]
    assert noisy.min() < 0 and noisy.max() > 1
    view = analyse(pair, vol, (0.5, 0.5, 1.5), level=10, device="cpu", precision="fp32")
    assert view.corrupted.min() >= 0.0 and view.corrupted.max() <= 1.0


@pytest.mark.parametrize("shape", [(64, 64), (50, 70)])
def test_latent_geometry_maps_cells_onto_the_input_grid(tiny_pair, shape) -> None:
    image = np.random.default_rng(0).random(shape).astype(np.float32)
    view = analyse(tiny_pair, image, device="cpu")
    latent = view.models["vqunet"].indices.shape
    for n, s, t, m in zip(shape, view.latent_scale, view.latent_translate, latent, strict=True):
        # cells centred: the first and last cell centres sit symmetrically inside the image
        assert t > 0 and t + (m - 1) * s < n
        assert t == pytest.approx(n - 1 - (t + (m - 1) * s))
