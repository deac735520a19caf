"""Preprocessing recipes: grids, intensity frames, and the label round trip."""

from __future__ import annotations

import json

import numpy as np
import pytest

from vqseg_core.data.intensity import IntensityConfig, normalise
from vqseg_core.data.preprocess import RECIPES, PreprocessContext, Recipe, get_recipe
from vqseg_core.data.resample import resize_labels, shape_for_spacing


def _ball(shape, spacing, radius_mm, centre_frac=0.5) -> np.ndarray:
    grids = np.meshgrid(
        *[(np.arange(n) - n * centre_frac) * s for n, s in zip(shape, spacing, strict=True)],
        indexing="ij",
    )
    return (sum(g**2 for g in grids) <= radius_mm**2).astype(np.uint8)


def test_registry_holds_the_four_recipes() -> None:
    assert set(RECIPES) == {"ct", "prostate_mri", "chest_xray", "brain_mri"}
    assert RECIPES["ct"].target_spacing == (1.5, 1.5, 2.0)
    assert RECIPES["prostate_mri"].target_spacing == (0.5, 0.5, 1.5)
    assert RECIPES["chest_xray"].target_shape == (512, 512)


@pytest.mark.parametrize("name", sorted(RECIPES))
def test_recipe_is_json_round_trippable(name: str) -> None:
    recipe = RECIPES[name]
    assert Recipe.from_dict(json.loads(json.dumps(recipe.to_dict()))) == recipe


def test_ct_recipe_resamples_and_windows_hu() -> None:
    hu = np.linspace(-1000, 1000, 60 * 50 * 20, dtype=np.float32).reshape(60, 50, 20)
    x, ctx = RECIPES["ct"].apply(hu, (0.75, 0.75, 2.5))
    assert x.shape == (30, 25, 25) == ctx.model_shape
    assert ctx.model_spacing == pytest.approx((1.5, 1.5, 2.0))
    assert x.dtype == np.float32 and x.min() == 0.0 and x.max() == 1.0
    mid = RECIPES["ct"].apply(np.full((4, 4, 4), 37.5, np.float32), (1.5, 1.5, 2.0))[0]
    assert np.allclose(mid, (37.5 + 175) / 425)


def test_prostate_recipe_zscores_nonzero_voxels_only() -> None:
    rng = np.random.default_rng(0)
    img = np.zeros((40, 40, 10), np.float32)
    img[10:30, 10:30, 2:8] = rng.normal(300, 40, (20, 20, 6))
    x, ctx = RECIPES["prostate_mri"].apply(img, (0.5, 0.5, 1.5))
    assert x.shape == img.shape and ctx.model_spacing == pytest.approx((0.5, 0.5, 1.5))
    inside = x[x != 0]
    assert abs(inside.mean()) < 1e-3 and abs(inside.std() - 1) < 1e-3
    assert np.all(x[img == 0] == 0)


def test_chest_recipe_resizes_and_min_max_scales() -> None:
    img = np.random.default_rng(1).integers(0, 4096, (700, 600)).astype(np.float32)
    x, ctx = RECIPES["chest_xray"].apply(img, (0.35, 0.35))
    assert x.shape == (512, 512) and x.min() >= 0 and x.max() <= 1
    assert ctx.model_spacing == pytest.approx((0.35 * 700 / 512, 0.35 * 600 / 512))
    small = RECIPES["chest_xray"].replace(target_shape=(256, 256))
    assert small.apply(img, (0.35, 0.35))[0].shape == (256, 256)


def test_brain_recipe_uses_robust_percentiles() -> None:
    img = np.random.default_rng(2).normal(100, 10, (30, 30, 30)).astype(np.float32)
    img[0, 0, 0] = 1e6  # one outlier must not squash the range
    x, ctx = RECIPES["brain_mri"].apply(img, (1.2, 1.2, 1.2))
    assert x.shape == (36, 36, 36)
    assert 0.3 < float(np.median(x)) < 0.7
    assert ctx.intensity["high"] < 1e5


@pytest.mark.parametrize(
    ("name", "shape", "spacing"),
    [
        ("ct", (64, 56, 30), (0.7, 0.7, 2.5)),
        ("prostate_mri", (48, 48, 16), (0.6, 0.6, 3.0)),
        ("chest_xray", (300, 260), (0.35, 0.35)),
        ("brain_mri", (40, 44, 36), (1.3, 1.3, 1.3)),
    ],
)
def test_invert_labels_restores_the_original_grid(name, shape, spacing) -> None:
    recipe = RECIPES[name]
    image = np.random.default_rng(3).normal(100, 20, shape).astype(np.float32)
    labels = _ball(
        shape, spacing, radius_mm=0.3 * min(n * s for n, s in zip(shape, spacing, strict=True))
    )
    x, ctx = recipe.apply(image, spacing)
    model_labels = resize_labels(labels, x.shape)
    back = recipe.invert_labels(model_labels, ctx)
    assert back.shape == shape and back.dtype == labels.dtype
    assert (back == labels).mean() >= 0.95
    json.dumps(ctx.to_dict())


def test_invert_labels_rejects_a_wrong_grid() -> None:
    _x, ctx = RECIPES["ct"].apply(np.zeros((20, 20, 10), np.float32), (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="model grid"):
        RECIPES["ct"].invert_labels(np.zeros((3, 3, 3), np.uint8), ctx)


def test_label_round_trip_keeps_all_classes() -> None:
    shape, spacing = (80, 70, 24), (0.8, 0.8, 3.0)
    labels = _ball(shape, spacing, 20) + _ball(shape, spacing, 10)
    ctx = PreprocessContext("ct", shape, spacing, (43, 37, 36), (1.5, 1.5, 2.0))
    back = RECIPES["ct"].invert_labels(resize_labels(labels, ctx.model_shape), ctx)
    assert set(np.unique(back)) == {0, 1, 2}
    assert (back == labels).mean() >= 0.98


@pytest.mark.parametrize(
    ("array", "spacing", "match"),
    [
        (np.zeros((8, 8)), (1.0, 1.0), "3D"),
        (np.zeros((8, 8, 8)), (1.0, 1.0), "spacing"),
        (np.full((8, 8, 8), np.nan), (1.0, 1.0, 1.0), "NaN"),
    ],
)
def test_apply_rejects_bad_input(array, spacing, match) -> None:
    with pytest.raises(ValueError, match=match):
        RECIPES["ct"].apply(array, spacing)


def test_bad_configs_raise() -> None:
    with pytest.raises(ValueError, match="low < high"):
        IntensityConfig("window", 10, -10)
    with pytest.raises(ValueError, match="kind"):
        IntensityConfig("gamma")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="not both"):
        Recipe("x", 2, IntensityConfig("minmax"), (1.0, 1.0), (4, 4))
    with pytest.raises(ValueError, match="target_shape"):
        Recipe("x", 2, IntensityConfig("minmax"), target_shape=(4, 4, 4))
    with pytest.raises(ValueError, match="unknown recipe"):
        get_recipe("pet")


def test_constant_image_normalises_without_division_by_zero() -> None:
    out, stats = normalise(np.full((5, 5), 7.0), IntensityConfig("minmax"))
    assert np.all(out == 0) and stats == {"low": 7.0, "high": 7.0}


def test_shape_for_spacing_keeps_the_field_of_view() -> None:
    assert shape_for_spacing((512, 512, 133), (0.703125, 0.703125, 2.5), (1.5, 1.5, 2.0)) == (
        240,
        240,
        166,
    )
