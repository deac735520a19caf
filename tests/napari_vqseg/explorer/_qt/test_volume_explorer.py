"""The explorer on volumes: axial view, the slice on screen first, slice latents, 3D notice."""

from __future__ import annotations

import time

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def _explorer(viewer):
    from napari_vqseg.explorer._qt.widget import RobustnessExplorer

    widget = RobustnessExplorer(viewer)
    viewer.window.add_dock_widget(widget, name="Robustness Explorer")
    widget.controls.draws.setValue(2)
    return widget


def _close(widget, qtbot) -> None:
    widget.shutdown()
    qtbot.waitUntil(lambda: not widget._workers, timeout=60000)


def test_ct_volume_axial_view_focus_first_and_slice_latents(make_napari_viewer, qtbot) -> None:
    from napari_vqseg._sample_data import load_sample
    from vqseg_core.pretrained import load_set

    viewer = make_napari_viewer()
    for data, kwargs, kind in load_sample("ct-slab"):  # 14 of its 32 slices: two chunks, faster
        getattr(viewer, f"add_{kind}")(data[..., :14], **kwargs)
    assert tuple(viewer.dims.order) == (0, 1, 2)
    widget = _explorer(viewer)
    assert tuple(viewer.dims.order) == (2, 1, 0)  # the explorer set the axial view itself
    camera = viewer.scene.camera if hasattr(viewer, "scene") else viewer.camera
    assert tuple(camera.orientation2d) == ("up", "left")  # anterior up, patient's right left
    image = viewer.layers[0]
    viewer.dims.set_current_step(2, 9)
    focus = widget.focus_slice(image)
    assert focus == 9
    events: list[tuple[str, float, object]] = []
    original = widget._on_partial

    def spy(step, layer, partial):
        events.append(("partial", time.monotonic(), partial))
        original(step, layer, partial)

    def result_spy(*args):
        events.append(("result", time.monotonic(), None))
        on_result(*args)

    widget._on_partial = spy
    on_result = widget._on_result
    widget._on_result = result_spy
    widget.add_set(load_set("ct-organs"))
    qtbot.waitUntil(lambda: widget.view is not None and not widget.busy, timeout=240000)
    try:
        kinds = [e[0] for e in events]
        assert kinds == ["partial", "partial", "result"]  # masks of the focus slice came first
        partials = [e[2] for e in events if e[0] == "partial"]
        assert [p.model for p in partials] == ["unet", "vqunet"]  # both before the rest
        view = widget.view
        for p in partials:
            a, b = p.z_range
            assert a <= focus < b
            # the focus slice shown early is the final one
            np.testing.assert_array_equal(
                p.labels[..., focus], view.models[p.model].labels[..., focus]
            )
        # latent maps of the focus slice, placed at that slice
        assert view.latent_slice == focus and "slice" in view.latent_note
        latent = widget.layers.layer("latent:vqunet")
        codes = widget.layers.layer("codes:vqunet")
        assert latent is not None and codes is not None
        assert latent.data.shape[-1] == 1 and codes.data.shape == latent.data.shape
        assert f"(slice {focus})" in latent.name
        z_world = image.translate[2] + image.scale[2] * focus
        assert latent.translate[2] == pytest.approx(z_world)
        assert "slice" in widget.status.text()
    finally:
        _close(widget, qtbot)


def test_windowed_3d_network_says_there_are_no_latent_maps(
    make_napari_viewer, untrained_3d_set, qtbot
) -> None:
    viewer = make_napari_viewer()
    rng = np.random.default_rng(0)
    viewer.add_image((100 + 50 * rng.random((20, 18, 24))).astype(np.float32), name="vol")
    widget = _explorer(viewer)
    viewer.dims.set_current_step(2, 20)
    seen: list[tuple[bool, str, bool, bool]] = []  # (preview, status, mask shown, no view yet)
    original = widget._on_partial

    def spy(step, layer, partial):
        original(step, layer, partial)
        mask = widget.layers.layer(f"mask:{partial.model}")
        seen.append((partial.preview, widget.status.text(), mask is not None, widget.view is None))

    widget._on_partial = spy
    widget.add_set(untrained_3d_set)
    qtbot.waitUntil(lambda: widget.view is not None and not widget.busy, timeout=60000)
    try:
        # every window holding slice 20 covers half of the axial starts: a preview came first,
        # shown at once in the mask layer, the status saying so, the metrics waiting for the
        # exact labels (no view yet)
        assert len(seen) >= 2 and all(p and shown and waiting for p, _, shown, waiting in seen[:2])
        assert "preview of slice 20 \u2014 refining\u2026" in seen[0][1]
        assert not widget.view.latents_available
        assert "No latent maps" in widget.status.text()
        assert widget.layers.layer("latent:unet") is None
        assert widget.layers.layer("mask:unet").data.shape == (20, 18, 24)
    finally:
        _close(widget, qtbot)


def test_an_xray_after_a_volume_is_shown_upright(make_napari_viewer, qtbot) -> None:
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((20, 18, 6), np.float32), name="vol")
    widget = _explorer(viewer)
    try:
        assert tuple(viewer.dims.order) == (2, 1, 0)  # the volume: axial
        xray = np.zeros((30, 20), np.float32)
        xray[:5] = 1.0  # bright top rows: must stay at the top of the screen
        viewer.add_image(xray, name="xray")
        widget.controls.image.setCurrentText("xray")
        assert tuple(viewer.dims.order) == (0, 1, 2)
        camera = getattr(viewer, "scene", viewer).camera
        assert tuple(camera.orientation2d) == ("down", "right")
        layer = viewer.layers["xray"]
        assert layer._slice_input.displayed == [0, 1]  # rows down, columns right, not transposed
        viewer.layers.clear()  # and after clearing, a new X-ray is upright too
        viewer.add_image(xray, name="xray2")
        widget.controls.image.setCurrentText("xray2")
        assert tuple(camera.orientation2d) == ("down", "right")
    finally:
        _close(widget, qtbot)


def test_a_ct_gets_the_ct_set_and_a_wrong_set_is_refused(make_napari_viewer, qtbot) -> None:
    viewer = make_napari_viewer()
    viewer.add_image(np.zeros((24, 24), np.float32), name="xray")
    widget = _explorer(viewer)
    controls = widget.controls
    try:
        controls.models.setCurrentText("chest-xray")
        ct = np.full((24, 24, 4), -1000.0, np.float32)
        ct[6:18, 6:18] = 40.0
        viewer.add_image(ct, name="ct")
        controls.image.setCurrentText("ct")
        assert controls.models.currentText() == "ct-organs"  # not brain-mri, not chest-xray
        qtbot.waitUntil(lambda: not widget.busy, timeout=120000)
        blocked = controls.models.blockSignals(True)
        controls.models.setCurrentText("brain-mri")
        controls.models.blockSignals(blocked)
        assert widget.run_now() is None
        assert "brain-mri is for MRI volumes; this image looks like CT" in widget.status.text()
    finally:
        _close(widget, qtbot)
