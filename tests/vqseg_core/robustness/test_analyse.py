"""The live-view engine: one image, one corruption, both networks of the tiny pair."""

from __future__ import annotations

import numpy as np
import pytest

from vqseg_core.robustness import Cancelled, analyse, level_sweep


def disc_case(shape=(80, 72), seed=1):
    """A synthetic disc image like the tiny pair's training data, and its labels (1 ring, 2 core)."""
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    cy, cx, r = shape[0] / 2, shape[1] / 2, 0.2 * min(shape) * 1.2
    label = (((yy - cy) ** 2 + (xx - cx) ** 2) < r * r).astype(np.uint8)
    label[(np.abs(yy - cy) < r / 3) & (np.abs(xx - cx) < r / 3)] = 2
    image = 0.2 + 0.3 * (label > 0) + 0.3 * (label == 2) + 0.02 * rng.normal(size=shape)
    return (np.clip(image, 0, 1) * 1000).astype(np.float32), label


@pytest.fixture(scope="module")
def case():
    return disc_case()


def test_shapes_and_types_on_the_input_grid(tiny_pair, case) -> None:
    image, _gt = case
    view = analyse(tiny_pair, image, (0.5, 0.5), kind="gaussian", level=10, n_draws=3, device="cpu")
    assert view.corrupted.shape == image.shape and view.corrupted.dtype == np.float32
    assert view.corrupted.min() >= 0.0 and view.corrupted.max() <= 1.0
    assert view.disagreement.shape == image.shape and view.disagreement.dtype == bool
    assert set(view.models) == {"unet", "vqunet"}
    latent = (16, 16)  # 64x64 model grid, two stride-2 downsamplings
    for key, mv in view.models.items():
        assert mv.labels.shape == image.shape and mv.labels.dtype == np.uint8
        assert mv.latent_variance is not None and mv.latent_variance.shape == latent
        assert mv.scores is None
        if key == "vqunet":
            assert mv.indices is not None and mv.indices.shape == latent
            assert mv.flip_map is not None and mv.flip_map.shape == latent
            assert mv.quantized_variance is not None
        else:
            assert mv.indices is None and mv.flip_map is None and mv.flip_rate is None
    assert view.latent_scale == pytest.approx((80 / 64 * 4, 72 / 64 * 4))
    assert view.corruption.level == 10 and view.n_draws == 3 and view.latents_available


def test_level_zero_is_the_clean_prediction(tiny_pair, case) -> None:
    image, _ = case
    clean = tiny_pair.predict(image, (0.5, 0.5), device="cpu")
    view = analyse(tiny_pair, image, (0.5, 0.5), level=0, n_draws=4, device="cpu")
    for key in ("unet", "vqunet"):
        np.testing.assert_array_equal(view.models[key].labels, clean[key])
        assert view.models[key].latent_variance is not None
        assert float(view.models[key].latent_variance.max()) == 0.0  # identical draws
    vq = view.models["vqunet"]
    assert vq.flip_rate == 0.0 and float(vq.flip_map.max()) == 0.0
    assert float(vq.quantized_variance.max()) == 0.0


def test_disagreement_is_where_the_label_maps_differ(tiny_pair, case) -> None:
    image, _ = case
    view = analyse(tiny_pair, image, (0.5, 0.5), kind="salt_and_pepper", level=20, device="cpu")
    np.testing.assert_array_equal(
        view.disagreement, view.models["unet"].labels != view.models["vqunet"].labels
    )


def test_noise_moves_latents_and_flip_map_is_a_fraction(tiny_pair, case) -> None:
    image, _ = case
    view = analyse(tiny_pair, image, (0.5, 0.5), level=30, n_draws=5, device="cpu")
    unet, vq = view.models["unet"], view.models["vqunet"]
    assert float(unet.latent_variance.mean()) > 0
    assert float(vq.flip_map.min()) >= 0.0 and float(vq.flip_map.max()) <= 1.0
    assert vq.flip_rate == pytest.approx(float(vq.flip_map.mean()))
    # the flip map counts draws: multiples of 1/5
    np.testing.assert_allclose(vq.flip_map * 5, np.round(vq.flip_map * 5), atol=1e-6)


def test_single_draw_has_no_variance(tiny_pair, case) -> None:
    image, _ = case
    view = analyse(tiny_pair, image, (0.5, 0.5), level=10, n_draws=1, device="cpu")
    assert view.models["unet"].latent_variance is None
    assert view.models["vqunet"].flip_map is not None  # draw 0 vs the clean image


def test_scores_present_iff_ground_truth(tiny_pair, case) -> None:
    image, gt = case
    view = analyse(tiny_pair, image, (0.5, 0.5), level=5, ground_truth=gt, device="cpu")
    for mv in view.models.values():
        assert set(mv.scores) == {"ring", "core"}
        for s in mv.scores.values():
            assert 0.0 <= s["dice"] <= 1.0
            assert np.isnan(s["hd95"]) or s["hd95"] >= 0
    with pytest.raises(ValueError, match="ground truth shape"):
        analyse(tiny_pair, image, (0.5, 0.5), ground_truth=gt[:-1], device="cpu")


def test_same_seed_same_result_other_seed_other_noise(tiny_pair, case) -> None:
    image, _ = case
    kw = dict(kind="poisson", level=20, n_draws=3, device="cpu")
    a = analyse(tiny_pair, image, (0.5, 0.5), seed=7, **kw)
    b = analyse(tiny_pair, image, (0.5, 0.5), seed=7, **kw)
    c = analyse(tiny_pair, image, (0.5, 0.5), seed=8, **kw)
    np.testing.assert_array_equal(a.corrupted, b.corrupted)
    for key in a.models:
        np.testing.assert_array_equal(a.models[key].labels, b.models[key].labels)
        np.testing.assert_array_equal(a.models[key].latent_variance, b.models[key].latent_variance)
    assert not np.array_equal(a.corrupted, c.corrupted)


def test_cancel_aborts(tiny_pair, case) -> None:
    image, _ = case
    calls = []

    def cancel() -> bool:
        calls.append(1)
        return len(calls) > 2

    with pytest.raises(Cancelled):
        analyse(tiny_pair, image, level=10, n_draws=20, batch_size=2, cancel=cancel, device="cpu")
    with pytest.raises(Cancelled):
        level_sweep(tiny_pair, image, levels=[0, 10], cancel=lambda: True, device="cpu")


def test_bad_arguments_raise(tiny_pair, case) -> None:
    image, _ = case
    with pytest.raises(ValueError, match="unknown corruption"):
        analyse(tiny_pair, image, kind="nope")
    with pytest.raises(ValueError, match="out of range"):
        analyse(tiny_pair, image, level=99)
    with pytest.raises(ValueError, match="n_draws"):
        analyse(tiny_pair, image, n_draws=0)


def test_level_sweep_rows_and_progress(tiny_pair, case) -> None:
    image, gt = case
    seen = []
    rows = level_sweep(
        tiny_pair, image, (0.5, 0.5), "gaussian", [0, 10, 30], seed=3, n_draws=2,
        ground_truth=gt, progress=lambda done, total: seen.append((done, total)), device="cpu",
    )  # fmt: skip
    assert seen == [(1, 3), (2, 3), (3, 3)]
    assert [(r["level"], r["model"]) for r in rows] == [
        (lv, m) for lv in (0.0, 10.0, 30.0) for m in ("unet", "vqunet")
    ]
    assert rows[0]["changed_fraction"] == 0.0 and rows[1]["flip_rate"] == 0.0
    assert np.isnan(rows[0]["flip_rate"])
    for r in rows:
        assert {"dice_ring", "dice_core", "hd95_ring", "hd95_core", "dice_mean"} <= set(r)
    # common random numbers: the sweep's level-10 row matches a direct analysis at level 10
    view = analyse(
        tiny_pair, image, (0.5, 0.5), level=10, seed=3, n_draws=2, ground_truth=gt, device="cpu"
    )
    assert rows[2]["dice_ring"] == view.models["unet"].scores["ring"]["dice"]
    assert rows[3]["flip_rate"] == view.models["vqunet"].flip_rate


def test_without_ground_truth_each_model_has_class_sizes_and_its_change_from_the_clean_image(
    tiny_pair, case
) -> None:
    from vqseg_core.engine import ImageMemo, RunRequest, image_id
    from vqseg_core.engine.score import class_sizes
    from vqseg_core.perturb import Corruption
    from vqseg_core.robustness.view import view_of, with_clean_labels

    image, _ = case
    clean = tiny_pair.predict(image, (0.5, 0.5), device="cpu")
    request = RunRequest(tiny_pair, image, (0.5, 0.5), Corruption("gaussian", 30.0, 3), 1, "cpu",
                         latents=False)  # fmt: skip
    from vqseg_core import engine

    view = view_of(engine.execute(request))
    assert view.size_name == "area" and view.size_units == "mm²"
    for mv in view.models.values():
        assert mv.sizes == class_sizes(mv.labels, {1: "ring", 2: "core"}, (0.5, 0.5))
        assert mv.clean_labels is None and mv.clean_agreement is None
    store: dict = {}
    memo = ImageMemo(type("S", (), {"get": lambda s, k: store.get(k),
                                    "put": lambda s, k, v: store.__setitem__(k, v)})(),
                     image_id(image), (0.5, 0.5))  # fmt: skip
    answered = with_clean_labels(view, request, memo)
    for key, mv in answered.models.items():
        np.testing.assert_array_equal(mv.clean_labels, clean[key])
        assert 0.0 <= mv.clean_agreement <= 1.0
    moved = min(mv.clean_agreement for mv in answered.models.values())
    assert moved < 1.0  # 30 % noise moves a mask
    misses = memo.misses
    again = with_clean_labels(view, request, memo)  # the memo keeps the clean labels per image
    assert memo.misses == misses and memo.hits >= 2
    np.testing.assert_array_equal(again.models["unet"].clean_labels, clean["unet"])
    identity = view_of(engine.execute(request.with_(corruption=Corruption("gaussian", 0.0, 3))))
    same = with_clean_labels(identity, request.with_(corruption=Corruption("gaussian", 0.0, 3)))
    assert all(mv.clean_agreement == 1.0 for mv in same.models.values())
