"""Volume inference focus-first: equal to MONAI's sliding window, slice order, cancel, memory."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.inferers import sliding_window_inference

from _volume_helpers import record_allocations, runner
from vqseg_core.inference import Predictor
from vqseg_core.models import UNet, VQUNet
from vqseg_core.volume import (
    Cancelled,
    chunk_ranges,
    drive,
    focus_slab_order,
    iter_slicewise,
    iter_sliding_window,
    window_starts,
)


@pytest.fixture(scope="module")
def net3d() -> UNet:
    torch.manual_seed(0)
    return UNet(3, 1, 4, channels=(4, 8), norm_groups=2).eval()


_fn = runner


def _monai(model, x, patch, overlap, mode, sw_batch_size=2):
    with torch.inference_mode():
        return sliding_window_inference(x, patch, sw_batch_size, model, overlap=overlap, mode=mode)[
            0
        ]


@pytest.mark.parametrize(
    ("shape", "patch", "overlap", "mode", "focus"),
    [
        ((37, 29, 23), (16, 16, 8), 0.25, "constant", None),
        ((37, 29, 23), (16, 16, 8), 0.25, "constant", 11),
        ((37, 29, 23), (16, 16, 8), 0.25, "constant", 22),
        ((20, 9, 30), (16, 16, 16), 0.5, "gaussian", 0),  # Y smaller than the patch: padded
        ((20, 9, 30), (16, 16, 16), 0.5, "gaussian", 15),
        ((12, 12, 50), (8, 8, 8), 0.8, "gaussian", 25),  # many slabs, each slice under several
        ((17, 17, 5), (8, 8, 8), 0.0, "constant", 2),  # Z smaller than the patch
    ],
)
def test_equals_monai_sliding_window(net3d, shape, patch, overlap, mode, focus) -> None:
    x = torch.rand(1, 1, *shape, generator=torch.Generator().manual_seed(sum(shape)))
    ref = _monai(net3d, x, patch, overlap, mode, sw_batch_size=3)
    steps = iter_sliding_window(x, _fn(net3d), patch, overlap, sw_batch_size=3, mode=mode,
                                focus=focus, keep_logits=True)  # fmt: skip
    result = drive(steps)
    torch.testing.assert_close(result.logits, ref, rtol=1e-5, atol=1e-5)
    assert result.labels.dtype == np.uint8 and result.labels.shape == shape
    np.testing.assert_array_equal(result.labels, ref.argmax(0).numpy())


def test_the_focus_slice_is_finished_first_and_every_slice_once(net3d) -> None:
    x = torch.rand(1, 1, 20, 20, 60, generator=torch.Generator().manual_seed(0))
    seen: list[tuple[int, int]] = []
    labels = drive(iter_sliding_window(x, _fn(net3d), (16, 16, 16), 0.25, focus=40),
                   lambda a, b, lab: seen.append((a, b)))  # fmt: skip
    assert seen[0][0] <= 40 < seen[0][1]
    covered = np.zeros(60, dtype=int)
    for a, b in seen:
        covered[a:b] += 1
    assert (covered == 1).all()
    ref = _monai(net3d, x, (16, 16, 16), 0.25, "constant")
    assert (labels.labels == ref.argmax(0).numpy()).mean() > 0.9999


def test_window_starts_and_slab_order_follow_monai_and_the_focus() -> None:
    from monai.data.utils import dense_patch_slices

    for size, patch, overlap in [(133, 96, 0.25), (512, 96, 0.25), (50, 8, 0.8), (9, 16, 0.5)]:
        padded = max(size, patch)
        step = max(1, int(patch * (1 - overlap))) if patch != padded else patch
        ref = sorted({s[0].start for s in dense_patch_slices((padded,), (patch,), (step,))})
        assert window_starts(padded, patch, overlap) == ref
    starts = window_starts(100, 16, 0.25)  # 0, 12, ..., 84
    order = focus_slab_order(starts, 16, 50)
    assert sorted(order) == list(range(len(starts)))
    first = [j for j in order[:2]]
    assert all(starts[j] <= 50 < starts[j] + 16 for j in first)
    assert focus_slab_order(starts, 16, None) == list(range(len(starts)))


def test_chunk_ranges_start_at_the_focus_and_cover_once() -> None:
    for n, chunk, focus in [(166, 16, 83), (5, 16, 2), (40, 7, 0), (40, 7, 39)]:
        ranges = chunk_ranges(n, chunk, focus)
        assert ranges[0][0] <= focus < ranges[0][1]
        covered = np.zeros(n, dtype=int)
        for a, b in ranges:
            covered[a:b] += 1
        assert (covered == 1).all()


def test_slicewise_equals_the_predictor_and_runs_the_focus_first() -> None:
    torch.manual_seed(0)
    model = VQUNet(2, 1, 3, channels=(8, 16), norm_groups=4, codebook_size=16, codebook_dim=8)
    predictor = Predictor(model, device="cpu", precision="fp32")
    x = torch.rand(1, 1, 24, 20, 37, generator=torch.Generator().manual_seed(1))
    ref = predictor.forward(x).logits[0]
    seen: list[int] = []
    result = drive(
        iter_slicewise(x, predictor._run, chunk=8, focus=30, keep_logits=True),
        lambda a, b, lab: seen.append(a),
    )
    torch.testing.assert_close(result.logits, ref, rtol=1e-4, atol=1e-5)
    assert seen[0] <= 30 < seen[0] + 8
    labels = predictor.predict_labels(x[0, 0].numpy(), focus=30)
    assert labels.dtype == np.uint8
    assert (labels == ref.argmax(0).numpy()).mean() > 0.999


def test_predictor_volume_path_matches_forward_and_cancels(net3d) -> None:
    predictor = Predictor(net3d, device="cpu", precision="fp32", patch_size=(16, 16, 16))
    vol = np.random.default_rng(0).random((30, 20, 40)).astype(np.float32)
    ref = predictor.forward(torch.from_numpy(vol)[None, None]).logits[0].argmax(0).numpy()
    slabs: list[tuple[int, int]] = []
    labels = predictor.predict_labels(vol, focus=5, on_slab=lambda a, b, lab: slabs.append((a, b)))
    assert (labels == ref).mean() > 0.9999
    assert slabs[0][0] <= 5 < slabs[0][1]
    calls = iter(range(100))
    with pytest.raises(Cancelled):
        predictor.predict_labels(vol, cancel=lambda: next(calls) >= 2)


def test_only_a_ring_of_slices_is_kept(net3d, monkeypatch) -> None:
    """The running sums hold patch-depth slices, not the volume (what MONAI keeps)."""
    sizes = record_allocations(monkeypatch)
    x = torch.rand(1, 1, 16, 16, 64)
    drive(iter_sliding_window(x, _fn(net3d), (8, 8, 8), 0.25, focus=30))
    k = 4
    assert max(sizes) <= k * 16 * 16 * 8  # the ring: K x X x Y x patch depth
