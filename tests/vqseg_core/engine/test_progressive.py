"""Progressive runs: masks and metrics first, latents after; per-image work kept in a memo.

The final view of the progressive path (memo reused across slider levels) must equal the view
:func:`vqseg_core.robustness.analyse` computes from scratch, bit for bit.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vqseg_core.engine import ImageMemo, MasksReady, PartialLabels, RunRequest, image_id
from vqseg_core.engine import iter_execute as engine_iter_execute
from vqseg_core.perturb import Corruption
from vqseg_core.robustness import RobustnessView, analyse, iter_view


class DictStore(dict):
    """The smallest store a memo takes (unbounded)."""

    def put(self, key, value):
        self[key] = value
        return True


def disc(shape=(72, 64), seed=3):
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[: shape[0], : shape[1]]
    r = 0.25 * min(shape)
    label = (((yy - shape[0] / 2) ** 2 + (xx - shape[1] / 2) ** 2) < r * r).astype(np.uint8)
    image = 0.2 + 0.5 * label + 0.02 * rng.normal(size=shape)
    return (np.clip(image, 0, 1) * 1000).astype(np.float32), label


def drain(gen):
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            return steps, stop.value


def assert_same_view(a: RobustnessView, b: RobustnessView) -> None:
    """Exact equality of everything a view shows (the latent state aside)."""
    assert a.models.keys() == b.models.keys()
    assert np.array_equal(a.corrupted, b.corrupted) and np.array_equal(
        a.disagreement, b.disagreement
    )
    assert (a.latent_scale, a.latent_translate, a.latents_available, a.latent_note) == (
        b.latent_scale, b.latent_translate, b.latents_available, b.latent_note)  # fmt: skip
    for key, ma in a.models.items():
        mb = b.models[key]
        assert np.array_equal(ma.labels, mb.labels)
        assert ma.scores == mb.scores  # exact floats (no nan: every class is annotated)
        assert ma.flip_rate == mb.flip_rate
        assert ma.latents.keys() == mb.latents.keys()
        for name, la in ma.latents.items():
            lb = mb.latents[name]
            for field in ("variance", "quantized_variance", "indices", "flip_map"):
                x, y = getattr(la, field), getattr(lb, field)
                assert (x is None) == (y is None), (key, name, field)
                if x is not None:
                    assert np.array_equal(x, y), (key, name, field)
            assert (la.flip_rate, la.scale, la.translate) == (lb.flip_rate, lb.scale, lb.translate)


def test_progressive_with_a_memo_equals_analyse_from_scratch(tiny_pair) -> None:
    image, gt = disc()
    store = DictStore()
    memo = ImageMemo(store, image_id(image), (0.5, 0.5))
    for level in (0.0, 10.0, 20.0):  # slider moves on one image: the memo is filled, then reused
        request = RunRequest(tiny_pair, image, (0.5, 0.5), Corruption("gaussian", level, 0), 3,
                             "cpu", "fp32")  # fmt: skip
        steps, final = drain(iter_view(request, gt, None, None, memo, progressive=True))
        assert len(steps) == 1 and steps[0].latent_state == "pending"
        first = steps[0]
        assert all(not mv.latents and mv.latent_variance is None for mv in first.models.values())
        assert final.latent_state == "done"
        for key in final.models:  # the masks and metrics shown first are the final ones
            assert final.models[key].labels is first.models[key].labels
            assert final.models[key].scores == first.models[key].scores
        today = analyse(tiny_pair, image, (0.5, 0.5), kind="gaussian", level=level, n_draws=3,
                        ground_truth=gt, device="cpu", precision="fp32")  # fmt: skip
        assert_same_view(final, today)
        assert final.models["vqunet"].flip_map is not None or level == 0.0
    assert memo.hits > 0  # preprocessing and the clean image's latents came from the memo
    kinds = {key[2] for key in store}
    assert {"prepared", "clean-latents", "clean-labels"} <= kinds


def test_the_memo_skips_the_clean_encoding(tiny_pair, monkeypatch) -> None:
    import vqseg_core.engine.memo as memo_module

    image, _ = disc()
    memo = ImageMemo(DictStore(), image_id(image), None)
    calls = []
    real = memo_module.encode_clean
    monkeypatch.setattr(
        memo_module, "encode_clean", lambda *a, **k: calls.append(1) or real(*a, **k)
    )
    for level in (10.0, 20.0, 30.0):
        request = RunRequest(tiny_pair, image, None, Corruption("gaussian", level, 0), 2, "cpu")
        drain(engine_iter_execute(request, None, memo))
    assert len(calls) == 2  # once per network, not once per level


def test_without_latents_the_encoder_never_runs(tiny_pair, monkeypatch) -> None:
    image, _ = disc()
    calls = []
    for member in tiny_pair:
        real = member.model.encode
        monkeypatch.setattr(member.model, "encode", lambda x, real=real: calls.append(1) or real(x))
    request = RunRequest(tiny_pair, image, None, Corruption("gaussian", 10.0, 0), 4, "cpu",
                         latents=False)  # fmt: skip
    steps, run = drain(engine_iter_execute(request, progressive=True))
    assert calls == [] and all(not mr.latents for mr in run.models.values())
    assert steps == []  # no latents to wait for: nothing to show early
    steps, view = drain(iter_view(request, progressive=True))
    assert view.latent_state == "skipped" and calls == [] and steps == []
    steps, _ = drain(engine_iter_execute(request.with_(latents=True), progressive=True))
    assert len(steps) == 1 and isinstance(steps[0], MasksReady) and calls


def test_non_progressive_runs_yield_nothing_for_images(tiny_pair) -> None:
    image, _ = disc()
    request = RunRequest(tiny_pair, image, None, Corruption("gaussian", 10.0, 0), 2, "cpu")
    steps, _ = drain(engine_iter_execute(request))
    assert steps == []
    assert not any(isinstance(s, PartialLabels) for s in steps)


def test_a_memo_for_another_spacing_is_refused(tiny_pair) -> None:
    image, _ = disc()
    memo = ImageMemo(DictStore(), image_id(image), (1.0, 1.0))
    request = RunRequest(tiny_pair, image, (0.5, 0.5), Corruption("gaussian", 10.0, 0), 2, "cpu")
    with pytest.raises(ValueError, match="spacing"):
        drain(engine_iter_execute(request, None, memo))


def test_clean_alone_is_clean_in_the_draws_batch_to_rounding(tiny_pair) -> None:
    """The clean image encoded on its own (a batch of one, so that it can be kept per image)
    against the layout before the memo (appended to the draws' batch): float32 kernels of
    another batch size may round differently (the tiny networks here; the chest pair gave the
    same bits), never more. The codes agree."""
    from vqseg_core.engine.draws import _encode, encode_clean
    from vqseg_core.engine.frame import make_draws, prepare

    image, _ = disc()
    for member in tiny_pair:
        predictor = tiny_pair.predictor(member.key, "cpu", "fp32")
        p = prepare(member.recipe, image)
        draws = make_draws(p, Corruption("gaussian", 10.0, 0), 3)
        batch = torch.cat([torch.from_numpy(draws), torch.from_numpy(p.x)[None]])
        together = _encode(predictor, batch, 4)
        alone = encode_clean(predictor, p.x)
        for name, (features, _q, indices) in together.items():
            torch.testing.assert_close(features[3], alone[name][0][0], rtol=1e-5, atol=1e-5)
            if indices is not None:
                assert torch.equal(indices[3], alone[name][2][0])
