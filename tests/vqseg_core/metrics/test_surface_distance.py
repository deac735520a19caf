"""HD95 and surface distances: MONAI cross-check, known answers, and invariances."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from vqseg_core.metrics import (
    average_surface_distance,
    hd95,
    hd95_per_class,
    mask_edges,
    surface,
    surface_distances,
)


def _random_mask(rng: np.random.Generator, shape: tuple[int, ...], blobby: bool) -> np.ndarray:
    field = rng.random(shape)
    if blobby:
        field = ndimage.gaussian_filter(field, 1.0)
        return field > np.quantile(field, rng.uniform(0.3, 0.9))
    return field < rng.uniform(0.05, 0.6)


@st.composite
def nonempty_pairs(draw: st.DrawFn) -> tuple[np.ndarray, np.ndarray, tuple[float, ...]]:
    dims = draw(st.sampled_from([2, 3]))
    side = 32 if dims == 2 else 12
    shape = tuple(draw(st.integers(3, side)) for _ in range(dims))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    blobby = draw(st.booleans())
    p, t = _random_mask(rng, shape, blobby), _random_mask(rng, shape, blobby)
    p.flat[draw(st.integers(0, p.size - 1))] = True
    t.flat[draw(st.integers(0, t.size - 1))] = True
    spacing = tuple(draw(st.floats(0.2, 4.0)) for _ in range(dims))
    return p, t, spacing


# --- cross-check against MONAI ------------------------------------------------------------------


def _monai_inputs(p: np.ndarray, t: np.ndarray) -> tuple[torch.Tensor, torch.Tensor]:
    return torch.as_tensor(p)[None, None].float(), torch.as_tensor(t)[None, None].float()


@pytest.mark.filterwarnings("ignore::FutureWarning")
@pytest.mark.parametrize("path", ["tree", "transform"])
@pytest.mark.parametrize("dims", [2, 3])
@pytest.mark.parametrize("seed", range(25))
def test_hd95_and_asd_match_monai(
    dims: int, seed: int, path: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from monai.metrics import compute_average_surface_distance, compute_hausdorff_distance
    from monai.metrics.utils import get_edge_surface_distance

    # both ways of computing the distances (KD-tree; distance transform of the box), whatever
    # share of the box the surfaces fill
    monkeypatch.setattr(surface, "DENSE_EDGE_FRACTION", 1.0 if path == "tree" else 0.0)

    rng = np.random.default_rng(seed)
    shape = (int(rng.integers(8, 33)), int(rng.integers(8, 33)), int(rng.integers(6, 13)))[:dims]
    p, t = _random_mask(rng, shape, seed % 2 == 0), _random_mask(rng, shape, seed % 2 == 0)
    p.flat[0] = t.flat[-1] = True
    spacing = tuple(float(s) for s in rng.uniform(0.3, 3.0, dims))

    # MONAI's distances (float32) with the percentile taken in float64: agreement to 1e-6
    _, (d_pt, d_tp), _ = get_edge_surface_distance(
        torch.as_tensor(p), torch.as_tensor(t), spacing=spacing, symmetric=True
    )
    reference = max(
        np.percentile(d_pt.double().numpy(), 95), np.percentile(d_tp.double().numpy(), 95)
    )
    assert hd95(p, t, spacing) == pytest.approx(reference, rel=1e-6, abs=1e-6)

    # end to end: MONAI also interpolates the percentile in float32, hence the looser 1e-5
    yp, yt = _monai_inputs(p, t)
    monai_hd = compute_hausdorff_distance(
        yp, yt, include_background=True, percentile=95, spacing=spacing
    ).item()
    monai_asd = compute_average_surface_distance(
        yp, yt, include_background=True, symmetric=True, spacing=spacing
    ).item()
    assert hd95(p, t, spacing) == pytest.approx(monai_hd, rel=1e-5, abs=1e-5)
    assert average_surface_distance(p, t, spacing) == pytest.approx(monai_asd, rel=1e-5, abs=1e-5)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_edges_match_monai() -> None:
    from monai.metrics.utils import get_mask_edges

    rng = np.random.default_rng(3)
    p, t = _random_mask(rng, (10, 11, 9), True), _random_mask(rng, (10, 11, 9), False)
    p[0, 0, 0] = True
    monai_p, monai_t = get_mask_edges(p, t, crop=False)
    np.testing.assert_array_equal(mask_edges(p), monai_p)
    np.testing.assert_array_equal(mask_edges(t), monai_t)


@pytest.mark.filterwarnings("ignore::FutureWarning")
def test_a_stray_voxel_far_away_costs_the_surface_not_the_volume() -> None:
    """3D with a stray voxel in the far corner: the KD-tree, and MONAI's answer."""
    from monai.metrics import compute_hausdorff_distance

    shape, spacing = (96, 96, 64), (0.8, 0.8, 2.0)
    target = _ball(shape, spacing, 20.0)
    pred = _ball(shape, spacing, 18.0)
    pred[0, 0, 0] = pred[-1, -1, -1] = True
    edges = np.count_nonzero(mask_edges(pred)) + np.count_nonzero(mask_edges(target))
    assert edges < surface.DENSE_EDGE_FRACTION * 2 * pred.size  # the tree, not the transform
    yp, yt = _monai_inputs(pred, target)
    reference = compute_hausdorff_distance(
        yp, yt, include_background=True, percentile=95, spacing=spacing
    ).item()
    assert hd95(pred, target, spacing) == pytest.approx(reference, rel=1e-5)


# --- known answers (as DeepMind's surface-distance also gives for these shapes) ---------------------


@pytest.mark.parametrize("k", [1, 2, 3, 5])
@pytest.mark.parametrize("axis", [0, 1])
def test_squares_offset_by_k_voxels_are_k_spacings_apart(k: int, axis: int) -> None:
    spacing = (0.7, 1.9)
    target = np.zeros((30, 30), bool)
    target[5:15, 6:16] = True
    pred = np.roll(target, k, axis=axis)
    assert hd95(pred, target, spacing) == pytest.approx(k * spacing[axis], rel=1e-12)
    assert hd95(pred, target, spacing, percentile=100) == pytest.approx(
        k * spacing[axis], rel=1e-12
    )


@pytest.mark.parametrize("k", [1, 3])
def test_cubes_offset_along_the_coarse_axis(k: int) -> None:
    spacing = (0.8, 1.0, 2.5)
    target = np.zeros((14, 14, 14), bool)
    target[3:10, 3:10, 2:9] = True
    pred = np.roll(target, k, axis=2)
    assert hd95(pred, target, spacing) == pytest.approx(k * 2.5, rel=1e-12)


def _ball(shape: tuple[int, ...], spacing: tuple[float, ...], radius_mm: float) -> np.ndarray:
    grids = np.meshgrid(
        *[(np.arange(n) - (n - 1) / 2) * s for n, s in zip(shape, spacing, strict=True)],
        indexing="ij",
    )
    return sum(g**2 for g in grids) <= radius_mm**2


@pytest.mark.parametrize(
    ("shape", "spacing", "r_small", "r_large"),
    [
        ((81, 81), (1.0, 1.0), 10.0, 25.0),
        ((121, 61), (0.5, 1.0), 8.0, 20.0),
        ((41, 41, 25), (1.0, 1.0, 1.6), 6.0, 15.0),
    ],
)
def test_concentric_balls_are_the_difference_of_radii_apart(
    shape: tuple[int, ...], spacing: tuple[float, ...], r_small: float, r_large: float
) -> None:
    small, large = _ball(shape, spacing, r_small), _ball(shape, spacing, r_large)
    tolerance = max(spacing)  # boundary voxels sit up to one voxel inside the continuous surface
    assert abs(hd95(small, large, spacing) - (r_large - r_small)) <= tolerance
    assert abs(average_surface_distance(small, large, spacing) - (r_large - r_small)) <= tolerance


# --- empty masks ----------------------------------------------------------------------------------


def test_empty_masks_give_nan_never_inf() -> None:
    empty = np.zeros((6, 6), bool)
    full = np.zeros((6, 6), bool)
    full[2:4, 2:4] = True
    for p, t in [(empty, empty), (empty, full), (full, empty)]:
        assert math.isnan(hd95(p, t, 1.0))
        assert math.isnan(average_surface_distance(p, t, 1.0))
        assert surface_distances(p, t, 1.0).pred_to_target.size == 0


def test_bad_arguments_raise() -> None:
    m = np.ones((3, 3), bool)
    with pytest.raises(ValueError, match="spacing"):
        hd95(m, m, (1.0, 1.0, 1.0))
    with pytest.raises(ValueError, match="spacing"):
        hd95(m, m, (1.0, -1.0))
    with pytest.raises(ValueError, match="percentile"):
        hd95(m, m, 1.0, percentile=101)
    with pytest.raises(ValueError, match="binary"):
        hd95(m.astype(int) * 2, m, 1.0)


def test_per_class_hd95() -> None:
    target = np.zeros((20, 20), int)
    target[2:8, 2:8] = 1
    target[10:18, 10:18] = 2
    pred = np.roll(target, 2, axis=0)
    scores = hd95_per_class(pred, target, (1.0, 1.0))
    assert scores == {1: 2.0, 2: 2.0}


# --- properties -------------------------------------------------------------------------------------


@settings(max_examples=200)
@given(nonempty_pairs())
def test_hd95_is_non_negative_finite_and_symmetric(
    case: tuple[np.ndarray, np.ndarray, tuple[float, ...]],
) -> None:
    p, t, spacing = case
    d = hd95(p, t, spacing)
    assert d >= 0 and math.isfinite(d)
    assert d == hd95(t, p, spacing)
    assert hd95(p, p, spacing) == 0.0
    # a mean of equal distances may exceed their maximum by one rounding step
    assert average_surface_distance(p, t, spacing) <= hd95(p, t, spacing, percentile=100) * (
        1 + 1e-12
    )


@settings(max_examples=200)
@given(nonempty_pairs(), st.data())
def test_hd95_is_translation_invariant(
    case: tuple[np.ndarray, np.ndarray, tuple[float, ...]], data: st.DataObject
) -> None:
    p, t, spacing = case
    before = tuple(data.draw(st.integers(0, 4)) for _ in range(p.ndim))
    after = tuple(data.draw(st.integers(0, 4)) for _ in range(p.ndim))
    pad = list(zip(before, after, strict=True))
    assert hd95(np.pad(p, pad), np.pad(t, pad), spacing) == hd95(p, t, spacing)


@settings(max_examples=200)
@given(nonempty_pairs(), st.floats(0.1, 10.0))
def test_hd95_scales_with_spacing(
    case: tuple[np.ndarray, np.ndarray, tuple[float, ...]], k: float
) -> None:
    p, t, spacing = case
    scaled = tuple(s * k for s in spacing)
    assert hd95(p, t, scaled) == pytest.approx(k * hd95(p, t, spacing), rel=1e-9, abs=1e-12)
    assert average_surface_distance(p, t, scaled) == pytest.approx(
        k * average_surface_distance(p, t, spacing), rel=1e-9, abs=1e-12
    )
