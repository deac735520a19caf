"""Results never outlive their image: a new image the explorer refuses (NaN/Inf pixels, nothing
to segment, no image at all) leaves none of the previous image's result layers, metrics or
view on screen; the user's own layers stay, as they were before side by side."""

from __future__ import annotations

import numpy as np
import pytest

from napari_vqseg.explorer.layers import ROLE_KEY

pytestmark = pytest.mark.gui


def _own(viewer) -> list[str]:
    return [lay.name for lay in viewer.layers if ROLE_KEY not in lay.metadata]


def _nothing_shown(explorer) -> bool:
    table = explorer.metrics
    shown = explorer.layers.all() or explorer.view is not None
    return not shown and table.rowCount() == 0 and not table.values


def test_a_refused_nan_image_removes_the_previous_images_results(explorer, qtbot) -> None:
    viewer, controls = explorer.viewer, explorer.controls
    assert explorer.layers.all() and explorer.metrics.rowCount() == 2
    assert viewer.canvas.grid.enabled and not viewer.layers["discs gt"].visible  # side by side
    holes = viewer.layers["discs"].data.astype(np.float32)
    holes[:4, :4] = np.nan
    viewer.add_image(holes, name="holes", scale=(0.5, 0.5))
    qtbot.waitUntil(lambda: "16 pixels of this image are NaN" in explorer.status.text(),
                    timeout=30000)  # fmt: skip
    assert not explorer.replace_offer.isHidden() and not explorer.busy
    assert _nothing_shown(explorer)
    assert "results of 'discs' were removed: they belong to another image" in (
        explorer.status.text()
    )
    assert _own(viewer) == ["discs", "discs gt", "holes"]  # the user's layers all stay
    assert not viewer.canvas.grid.enabled  # one canvas: the new image, the reason beside it
    assert viewer.layers["holes"].visible
    # the agreed replacement runs on the new image; back on the first, its results (cached)
    explorer.replace_offer.click()
    qtbot.waitUntil(lambda: explorer.view is not None and not explorer.busy, timeout=30000)
    assert explorer.view.corrupted.shape == holes.shape and explorer.metrics.rowCount() == 2
    assert explorer.layers.all() and viewer.canvas.grid.enabled
    controls.image.setCurrentText("discs")
    qtbot.waitUntil(lambda: explorer.view is not None and not explorer.busy
                    and explorer.metrics.rowCount() == 2, timeout=30000)  # fmt: skip
    assert explorer.layers.layer("mask:unet") is not None
    assert "removed" not in explorer.status.text()
    # a volume the (2D) set refuses: the same, with the set's reason
    volume = np.random.default_rng(0).random((64, 64, 6)).astype(np.float32)
    viewer.add_image(volume, name="volume", scale=(0.5, 0.5, 0.5))
    qtbot.waitUntil(lambda: "is 2D" in explorer.status.text(), timeout=30000)
    assert _nothing_shown(explorer) and not explorer.busy
    assert "results of 'discs' were removed" in explorer.status.text()


def test_a_run_of_the_previous_image_never_shows_after_a_refusal(explorer, qtbot) -> None:
    viewer, controls = explorer.viewer, explorer.controls
    low, high = controls.level.minimum(), controls.level.maximum()
    controls.level.setValue(low + 0.37 * (high - low))  # a level not in the cache
    job = explorer.run_now()
    assert job is not None and not job.cancelled
    image = viewer.layers["discs"].data
    viewer.add_image(np.full(image.shape, np.nan, np.float32), name="void", scale=(0.5, 0.5))
    assert controls.image.currentText() == "void"
    assert explorer.run_now() is None
    assert job.cancelled  # the run of 'discs' went with its results
    assert "nothing to segment" in explorer.status.text()
    qtbot.waitUntil(lambda: not explorer._workers, timeout=30000)
    qtbot.wait(300)  # the debounced run of the level change, the dropped result: all done
    assert _nothing_shown(explorer) and "nothing to segment" in explorer.status.text()
    assert _own(viewer) == ["discs", "discs gt", "void"]
    viewer.layers.remove("void")  # back on 'discs' (the only image): its results again
    qtbot.waitUntil(lambda: explorer.view is not None and not explorer.busy, timeout=30000)
    viewer.layers.remove("discs")  # no image at all: none of its results stay
    qtbot.waitUntil(lambda: "Choose an image layer" in explorer.status.text(), timeout=30000)
    assert _nothing_shown(explorer) and _own(viewer) == ["discs gt"]
    assert "results of the previous image were removed" in explorer.status.text()


def test_a_ct_after_a_pixel_xray_fills_the_canvas_and_leaves_the_users_layers(
    explorer, untrained_3d_set, qtbot
) -> None:
    """The X-ray -> CT switch: the 2D image's result panels (pixel units) go at once, and the
    view is fitted to the CT (80 x 80 mm) alone, refused or run, never to the world the larger
    X-ray (256 x 256 px, hidden side by side) stretches. napari's "Inconsistent units" warning
    can then only come from the user's own two images (pixel and mm): left alone."""
    viewer = explorer.viewer
    rng = np.random.default_rng(0)
    viewer.add_image(rng.random((256, 256)).astype(np.float32), name="xray")  # pixel units
    qtbot.waitUntil(lambda: explorer.view is not None and not explorer.busy
                    and explorer.view.corrupted.shape == (256, 256), timeout=60000)  # fmt: skip
    ct = np.full((40, 40, 6), -1000.0, np.float32)
    ct[10:30, 10:30] = 40.0
    ct[0, 0, 0] = np.nan
    viewer.add_image(ct, name="ct", scale=(2.0, 2.0, 5.0), units=("mm",) * 3)
    qtbot.waitUntil(lambda: "1 pixels of this image are NaN" in explorer.status.text(),
                    timeout=30000)  # fmt: skip
    assert _nothing_shown(explorer) and _own(viewer) == ["discs", "discs gt", "xray", "ct"]
    assert "results of 'xray' were removed" in explorer.status.text()
    assert tuple(viewer.dims.order) == (2, 1, 0)  # the axial view of the volume
    assert viewer.layers["ct"].visible and not viewer.canvas.grid.enabled
    assert explorer.legend.isHidden()  # no masks: no classes of the X-ray's set to explain
    units = {str(u) for lay in viewer.layers for u in lay.units}
    assert units == {"pixel", "millimeter"}  # only the user's layers: the X-ray's and the CT's
    camera = getattr(viewer, "scene", viewer).camera
    z = float(viewer.dims.point[2])
    assert -2.5 <= z <= 27.5  # the slider on a slice of the CT, not among the X-ray's columns
    np.testing.assert_allclose(camera.center[-2:], (39.0, 39.0), atol=2.0)  # the CT's centre
    explorer.add_set(untrained_3d_set)  # a set for volumes (the tiny pair is 2D)
    qtbot.waitUntil(lambda: not explorer._timer.isActive(), timeout=30000)
    assert _nothing_shown(explorer) and not explorer.replace_offer.isHidden()
    explorer.replace_offer.click()  # its results side by side: the view fitted to them again
    qtbot.waitUntil(lambda: explorer.view is not None and not explorer.busy, timeout=120000)
    assert explorer.view.corrupted.shape == ct.shape and viewer.canvas.grid.enabled
    assert not viewer.layers["xray"].visible
    np.testing.assert_allclose(camera.center[-2:], (39.0, 39.0), atol=2.0)
    zoom = camera.zoom  # fitted to both panels, not to the first partial mask's one panel
    viewer.reset_view(layers=[viewer.layers["ct"], *explorer.layers.all()])
    assert camera.zoom == pytest.approx(zoom)
