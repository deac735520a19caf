"""3D sliding windows: any sweep axis equals MONAI; the focus-slice preview comes first."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from monai.inferers import sliding_window_inference

from _volume_helpers import record_allocations, runner
from vqseg_core.models import UNet
from vqseg_core.volume import PreviewDone, SlabDone, drive, iter_sliding_window
from vqseg_core.volume_preview import focus_final_share, sweep_axis


@pytest.fixture(scope="module")
def net3d() -> UNet:
    torch.manual_seed(0)
    return UNet(3, 1, 3, channels=(4, 8), norm_groups=2).eval()


_fn = runner


def _monai(model, x, patch, overlap, mode="constant", sw_batch_size=2) -> torch.Tensor:
    with torch.inference_mode():
        out = sliding_window_inference(x, patch, sw_batch_size, model, overlap=overlap, mode=mode)
    return out[0]


@pytest.mark.parametrize(
    ("sweep", "shape", "mode"),
    [
        (0, (30, 14, 12), "constant"),
        (1, (14, 30, 12), "gaussian"),
        (0, (21, 7, 10), "gaussian"),  # Y smaller than the patch: padded
    ],
)
def test_every_sweep_axis_equals_monai(net3d, sweep, shape, mode) -> None:
    x = torch.rand(1, 1, *shape, generator=torch.Generator().manual_seed(sum(shape)))
    ref = _monai(net3d, x, (8, 8, 8), 0.25, mode, sw_batch_size=3)
    steps = list_steps(iter_sliding_window(x, _fn(net3d), (8, 8, 8), 0.25, sw_batch_size=3,
                                           mode=mode, focus=5, sweep=sweep, keep_logits=True))  # fmt: skip
    events, result = steps
    assert [(e.z_start, e.z_stop) for e in events] == [(0, shape[2])]  # one step, at the end
    torch.testing.assert_close(result.logits, ref, rtol=1e-5, atol=1e-5)
    np.testing.assert_array_equal(result.labels, ref.argmax(0).numpy())


def list_steps(gen) -> tuple[list[SlabDone], object]:
    events = []
    while True:
        try:
            events.append(next(gen))
        except StopIteration as stop:
            return events, stop.value


def test_the_preview_comes_first_then_the_exact_labels(net3d) -> None:
    """Every axial window covers the focus: a preview from thin windows, then MONAI's labels."""
    x = torch.rand(1, 1, 26, 18, 20, generator=torch.Generator().manual_seed(3))
    patch, focus = (8, 8, 16), 9
    order: list[str] = []
    snapshots: list[np.ndarray] = []

    def on_preview(z0: int, z1: int, labels: np.ndarray) -> None:
        order.append("preview")
        assert z0 <= focus < z1 and not labels[..., :z0].any() and not labels[..., z1:].any()
        snapshots.append(labels[..., z0:z1].copy())

    gen = iter_sliding_window(x, _fn(net3d), patch, 0.25, focus=focus, preview=True,
                              preview_depth=4)  # fmt: skip
    result = drive(gen, lambda a, b, lab: order.append("final"), on_preview)
    assert order == ["preview", "final"]
    ref = _monai(net3d, x, patch, 0.25)
    np.testing.assert_array_equal(result.labels, ref.argmax(0).numpy())
    # the preview is MONAI's sliding window on the 4 slices centred on the focus (8 x 8 x 4)
    thin = _monai(net3d, x[..., 7:11], (8, 8, 4), 0.25).argmax(0).numpy()
    np.testing.assert_array_equal(snapshots[0], thin[..., 1:3])


def test_no_preview_when_the_axial_sweep_finishes_the_focus_early(net3d) -> None:
    x = torch.rand(1, 1, 10, 10, 64, generator=torch.Generator().manual_seed(4))
    starts = [0, 6, 12, 18, 24, 30, 36, 42, 48, 54, 56]
    assert focus_final_share(starts, 8, 30) <= 0.2
    events, result = list_steps(
        iter_sliding_window(x, _fn(net3d), (8, 8, 8), 0.25, focus=30, preview=True)
    )
    assert not any(isinstance(e, PreviewDone) for e in events)
    first = next(e for e in events if e.z_start <= 30 < e.z_stop)
    assert first.done <= 0.2 * first.total  # exact within a fifth of the windows
    np.testing.assert_array_equal(result.labels, _monai(net3d, x, (8, 8, 8), 0.25).argmax(0))


def test_the_sweep_takes_the_smallest_ring() -> None:
    assert sweep_axis((512, 512, 133), (96, 96, 96)) == 0  # the benchmark CT
    assert sweep_axis((512, 600, 133), (96, 96, 96)) == 1
    assert sweep_axis((512, 512, 512), (96, 96, 96)) == 2  # a tie: axial
    assert sweep_axis((96, 96, 400), (96, 96, 96)) == 2


def test_an_in_plane_sweep_keeps_a_ring_only(net3d, monkeypatch) -> None:
    sizes = record_allocations(monkeypatch)
    x = torch.rand(1, 1, 48, 16, 12)
    drive(iter_sliding_window(x, _fn(net3d), (8, 8, 8), 0.25, focus=6, preview=True))
    assert max(sizes) <= 3 * 8 * 16 * 12  # K x patch x Y x Z, not K x volume


def test_the_predictor_passes_the_preview_through(net3d) -> None:
    from vqseg_core.inference import Predictor

    predictor = Predictor(net3d, device="cpu", precision="fp32", patch_size=(8, 8, 16))
    x = torch.rand(1, 1, 12, 10, 18, generator=torch.Generator().manual_seed(5))
    events, result = list_steps(predictor.iter_volume(x, focus=9, preview=True))
    assert isinstance(events[0], PreviewDone) and events[0].z_start <= 9 < events[0].z_stop
    assert not any(isinstance(e, PreviewDone) for e in events[1:])
    events, _ = list_steps(predictor.iter_volume(x, focus=9))  # off by default: final steps only
    assert not any(isinstance(e, PreviewDone) for e in events)
    np.testing.assert_array_equal(result.labels, _monai(net3d, x, (8, 8, 16), 0.25).argmax(0))


def test_cancel_stops_the_preview(net3d) -> None:
    from vqseg_core.volume import Cancelled

    x = torch.rand(1, 1, 26, 18, 20)
    polls = iter(range(100))
    gen = iter_sliding_window(x, _fn(net3d), (8, 8, 16), 0.25, focus=9, preview=True,
                              cancel=lambda: next(polls) >= 1)  # fmt: skip
    with pytest.raises(Cancelled):
        next(gen)
