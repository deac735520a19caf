"""The explorer driven through its real widget: the tiny pair, and a three-model set."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytestmark = pytest.mark.gui


def wait_idle(qtbot, widget, timeout=30000):
    qtbot.waitUntil(lambda: not widget.busy, timeout=timeout)


def test_first_result_makes_layers_with_the_image_geometry(explorer) -> None:
    viewer = explorer.viewer
    names = [lay.name for lay in viewer.layers]
    for name in ("UNet · mask", "VQ-UNet · mask", "UNet", "VQ-UNet · differs from UNet",
                 "UNet · latent variance", "VQ-UNet · latent variance", "VQ-UNet · codebook assignment",
                 "VQ-UNet · code flips", "UNet · ground truth", "UNet · any model differs"):  # fmt: skip
        assert name in names
    mask = viewer.layers["UNet · mask"]
    assert mask.data.shape == (64, 64)
    np.testing.assert_allclose(mask.scale, (0.5, 0.5))
    latent = viewer.layers["VQ-UNet · latent variance"]
    codes = viewer.layers["VQ-UNet · codebook assignment"]
    assert latent.data.shape == codes.data.shape
    # latent maps cover the image: cells x scale == image extent
    np.testing.assert_allclose(np.asarray(latent.data.shape) * latent.scale, (32.0, 32.0), rtol=0.1)
    assert viewer.canvas.grid.enabled
    assert explorer.metrics.rowCount() == 2
    # the user's image stays the active layer: no result layer is there to be painted into
    assert "vqseg_role" not in viewer.layers.selection.active.metadata
    # which backend ran the label passes is said (the suite runs eager torch: conftest)
    assert "Labels by torch" in explorer.status.text() and "eager" in explorer.status.text()


def test_grid_puts_unet_and_vqunet_layers_in_two_cells(explorer) -> None:
    viewer = explorer.viewer
    grid, layers = viewer.canvas.grid, list(viewer.layers)
    pos = {lay.name: grid.position(i, layers) for i, lay in enumerate(layers)}
    assert pos["UNet · mask"] == pos["UNet"] == (0, 0)
    assert pos["VQ-UNet · mask"] == pos["VQ-UNet"] == (0, 1)

    def colour(name: str, value: int) -> str:
        from matplotlib.colors import to_hex

        return to_hex(viewer.layers[name].colormap.map(value))

    # side by side: class colours, the same in both panels; the ground truth's outline darker
    from napari_vqseg.explorer.legend import outline_colours

    assert colour("UNet · mask", 1) == colour("VQ-UNet · mask", 1)
    assert colour("UNet · ground truth", 1) == outline_colours({1: "ring", 2: "core"})[1]
    assert colour("UNet · ground truth", 1) != colour("UNet · mask", 1)
    assert colour("UNet · mask", 1) != colour("UNet · mask", 2)
    assert "ring" in explorer.legend.text() and "one colour per model" not in explorer.legend.text()
    explorer.controls.side_by_side.setChecked(False)
    assert not grid.enabled
    assert viewer.layers["discs"].visible
    # stacked: each model's mask in its own colour, which the legend names
    unet, vq = (explorer.session.legend()[k].colour for k in ("unet", "vqunet"))
    assert colour("UNet · mask", 1) == unet and colour("VQ-UNet · mask", 1) == vq
    assert colour("UNet · mask", 2) not in (unet, colour("UNet · mask", 1))  # classes stay apart
    assert "one colour per model" in explorer.legend.text() and "VQ-UNet" in explorer.legend.text()
    explorer.controls.side_by_side.setChecked(True)
    assert colour("UNet · mask", 1) == colour("VQ-UNet · mask", 1)


def test_metrics_change_with_level_and_revisits_come_from_the_cache(explorer, qtbot) -> None:
    controls = explorer.controls
    clean = dict(explorer.metrics.values)
    assert set(clean) == {"unet", "vqunet"} and all(0 <= v["dice_ring"] <= 1 for v in clean.values())
    controls.kind.setCurrentIndex(controls.kind.findData("salt_and_pepper"))
    controls.level.setValue(30.0)
    qtbot.waitUntil(lambda: explorer.view.corruption.level == 30.0, timeout=30000)
    wait_idle(qtbot, explorer)
    noisy = explorer.metrics.values
    assert any(not math.isclose(noisy[m][c], clean[m][c]) for m in clean for c in clean[m]
               if c.startswith("dice"))  # fmt: skip
    hits = explorer.cache.hits
    controls.level.setValue(5.0)
    qtbot.waitUntil(lambda: explorer.view.corruption.level == 5.0, timeout=30000)
    controls.level.setValue(30.0)
    qtbot.waitUntil(lambda: explorer.view.corruption.level == 30.0, timeout=5000)
    assert explorer.cache.hits > hits


def test_sweep_plots_and_can_be_cancelled(explorer, qtbot) -> None:
    from qtpy.QtCore import Qt
    from qtpy.QtWidgets import QDockWidget

    job = explorer.start_sweep()
    assert job is not None
    assert not explorer.sweep_button.isEnabled()  # one sweep at a time
    assert explorer.progress.maximum() == 0  # busy, not a bar stuck at 0 before the first level
    qtbot.waitUntil(lambda: bool(explorer.sweep_rows), timeout=60000)
    qtbot.waitUntil(lambda: explorer.sweep_button.isEnabled(), timeout=5000)
    assert {r["model"] for r in explorer.sweep_rows} == {"unet", "vqunet"}
    plot = explorer.plot
    assert plot is not None and plot.metric.count() > 0
    texts = [plot.metric.itemText(i) for i in range(plot.metric.count())]
    assert "Dice, mean over classes" in texts and not any("_" in t for t in texts)  # words
    assert "one image, seed 0" in plot.figure.axes[0].get_title()
    dock = plot
    while not isinstance(dock, QDockWidget):
        dock = dock.parent()
    main = explorer.viewer.window._qt_window
    assert main.dockWidgetArea(dock) == Qt.DockWidgetArea.BottomDockWidgetArea  # not beside
    explorer.session.sweep_rows = []
    job = explorer.start_sweep()
    explorer.cancel()
    assert job.cancelled
    qtbot.waitUntil(lambda: not explorer._workers, timeout=5000)
    assert explorer.sweep_rows == []


def test_export_writes_a_report_and_import_restores_the_settings(explorer, qtbot, tmp_path) -> None:
    controls = explorer.controls
    controls.seed.setValue(7)
    controls.level.setValue(20.0)
    qtbot.waitUntil(lambda: explorer.view.corruption.seed == 7 and explorer.view.corruption.level == 20.0,
                    timeout=30000)  # fmt: skip
    files = {p.name for p in explorer.export(tmp_path / "report")}
    assert {"metrics.csv", "screenshot.png", "settings.json"} <= files
    saved = controls.settings()
    controls.seed.setValue(1)
    controls.level.setValue(3.0)
    restored = explorer.import_settings(tmp_path / "report")
    assert restored == saved
    assert controls.settings() == saved
    wait_idle(qtbot, explorer)


def test_inference_keeps_the_ui_responsive_and_cancels_fast(explorer, qtbot) -> None:
    from qtpy.QtCore import QElapsedTimer, QTimer

    explorer.controls.draws.setValue(64)
    wait_idle(qtbot, explorer)
    gaps: list[float] = []
    clock = QElapsedTimer()
    clock.start()
    last = [clock.elapsed()]

    def beat() -> None:
        now = clock.elapsed()
        gaps.append(now - last[0])
        last[0] = now

    timer = QTimer()
    timer.setInterval(20)
    timer.timeout.connect(beat)
    timer.start()
    sweeps = 0
    while clock.elapsed() < 2000:  # back-to-back sweeps (5 levels x 64 draws x 2 models each)
        assert explorer.start_sweep() is not None
        sweeps += 1
        qtbot.waitUntil(lambda: not explorer._workers, timeout=30000)
    job = explorer.start_sweep()
    qtbot.wait(100)
    running = bool(explorer._workers)
    explorer.cancel()
    started = clock.elapsed()
    qtbot.waitUntil(lambda: not explorer._workers, timeout=5000)
    cancel_ms = clock.elapsed() - started
    timer.stop()
    assert job.cancelled and running
    assert cancel_ms < 1000
    assert len(gaps) > 50, (sweeps, len(gaps))
    late = np.asarray(gaps) - 20
    assert float(np.percentile(late, 95)) < 100, sorted(late)[-10:]


def test_closing_the_viewer_mid_run_is_safe(make_napari_viewer, tiny_pair, disc, qtbot) -> None:
    from napari_vqseg.explorer._qt.widget import RobustnessExplorer

    viewer = make_napari_viewer()
    viewer.add_image(disc[0], name="discs")
    widget = RobustnessExplorer(viewer)
    viewer.window.add_dock_widget(widget)
    widget.controls.draws.setValue(64)
    widget.add_set(tiny_pair)
    job = widget.run_now()
    sweep = widget.start_sweep()
    assert job is not None and sweep is not None
    viewer.close()
    assert job.cancelled and sweep.cancelled
    qtbot.waitUntil(lambda: not widget.jobs.running, timeout=5000)
    qtbot.wait(100)  # late signals are dropped quietly


def test_worker_errors_reach_the_user_without_crashing(explorer, qtbot, monkeypatch) -> None:
    import vqseg_core.engine as engine

    def broken(*args, **kwargs):
        raise RuntimeError("model exploded")

    monkeypatch.setattr(engine, "iter_execute", broken)
    shown = []
    monkeypatch.setattr("napari.utils.notifications.show_error", shown.append)
    explorer.controls.level.setValue(17.0)
    qtbot.waitUntil(lambda: bool(shown), timeout=10000)
    assert "model exploded" in shown[0] and "model exploded" in explorer.status.text()
    qtbot.wait(300)
    assert len(shown) == 1  # one notification per error, not two


# ---- three models (each setup adds 19 layers: about 10 s here, so few tests check a lot) ------
def test_three_models_make_three_panels_a_row_each_and_nineteen_layers(explorer3) -> None:
    viewer, view = explorer3.viewer, explorer3.view
    assert list(view.models) == ["unet", "vqunet", "vqcopy"]
    grid, layers = viewer.canvas.grid, list(viewer.layers)
    assert grid.enabled and tuple(grid.shape) == (1, 3)
    assert grid.actual_shape(layers) == (1, 3)
    masks = [lay for lay in layers if lay.metadata.get("vqseg_role", "").startswith("mask:")]
    assert sorted(lay.name for lay in masks) == ["UNet · mask", "VQ copy · mask", "VQ-UNet · mask"]
    pos = {lay.name: grid.position(i, layers) for i, lay in enumerate(layers)}
    for col, name in enumerate(("UNet", "VQ-UNet", "VQ copy")):
        assert pos[f"{name} · mask"] == pos[name] == (0, col)  # the corrupted input: its caption
        assert viewer.layers[name].name_overlay.visible
    # 5 per model (corrupted input, latent variance, disagreement, mask, ground truth)
    # + codebook assignment and code flips for the two VQ-UNets; no spacer needed here
    ours = explorer3.layers.all()
    assert len(ours) == 19
    assert all(lay.name.split(" · ")[0] in ("UNet", "VQ-UNet", "VQ copy") for lay in ours)
    # the metrics table: one row per model, in its colour
    table = explorer3.metrics
    heads = [table.verticalHeaderItem(r) for r in range(table.rowCount())]
    assert [h.text() for h in heads] == ["UNet", "VQ-UNet", "VQ copy"]
    colours = [m.colour for m in explorer3.session.loaded()]
    assert [h.foreground().color().name() for h in heads] == colours
    columns = [table.horizontalHeaderItem(c).text() for c in range(table.columnCount())]
    assert "HD95 mm\nring" in columns and columns[-2:] == ["latent\nvariance", "code\nflips"]
    assert set(table.values) == {"unet", "vqunet", "vqcopy"}
    explorer3.controls.side_by_side.setChecked(False)
    assert not grid.enabled and viewer.layers["discs"].visible


def test_disagreement_follows_the_reference_and_unchecked_models_leave(explorer3, qtbot) -> None:
    from qtpy.QtCore import Qt

    viewer, controls = explorer3.viewer, explorer3.controls
    assert controls.reference.currentData() == "unet"
    assert "VQ copy · differs from UNet" in viewer.layers
    controls.reference.setCurrentIndex(controls.reference.findData("vqcopy"))
    qtbot.waitUntil(lambda: explorer3.view.reference == "vqcopy", timeout=10000)
    names = [lay.name for lay in viewer.layers]
    assert "UNet · differs from VQ copy" in names and "VQ copy · any model differs" in names
    assert "VQ copy · differs from UNet" not in names
    view = explorer3.view
    ref = view.models["vqcopy"].labels
    np.testing.assert_array_equal(explorer3.layers.layer("disagreement:unet").data,
                                  view.models["unet"].labels != ref)  # fmt: skip
    controls.compare.item(1).setCheckState(Qt.CheckState.Unchecked)  # VQ-UNet
    qtbot.waitUntil(lambda: list(explorer3.view.models) == ["unet", "vqcopy"], timeout=30000)
    assert explorer3.layers.layer("mask:vqunet") is None
    assert tuple(viewer.canvas.grid.shape) == (1, 2)
    assert [controls.reference.itemData(i) for i in range(controls.reference.count())] == [
        "unet", "vqcopy"]  # fmt: skip
    assert explorer3.view.reference == "vqcopy"


def test_several_export_files_make_the_set(make_napari_viewer, tiny_pair_files, disc, qtbot) -> None:
    from napari_vqseg.explorer._qt.widget import RobustnessExplorer
    from napari_vqseg.explorer.settings import FROM_FILES

    viewer = make_napari_viewer()
    viewer.add_image(disc[0], name="discs")
    widget = RobustnessExplorer(viewer)
    viewer.window.add_dock_widget(widget)
    widget.controls.draws.setValue(1)
    widget.controls.models.setCurrentText(FROM_FILES)
    widget.controls.set_files([str(tiny_pair_files["unet"]), str(tiny_pair_files["vqunet"])])
    try:
        qtbot.waitUntil(lambda: widget.view is not None and not widget.busy, timeout=60000)
        assert widget.controls.compare.count() == 2
        assert list(widget.view.models) == ["unet", "vqunet"]
        assert "tiny-unet.json" in widget.controls.models_label.text()
    finally:
        widget.shutdown()
        qtbot.waitUntil(lambda: not widget._workers, timeout=10000)


def test_four_models_use_two_rows_and_the_latent_choice_shows_a_skip(
    make_napari_viewer, tiny_trio, disc, qtbot
) -> None:
    import dataclasses

    import torch

    from napari_vqseg.explorer._qt.widget import RobustnessExplorer
    from vqseg_core.models import ModelConfig, build_model
    from vqseg_core.modelset import PALETTE, ModelSet

    torch.manual_seed(0)
    net = build_model(ModelConfig(kind="vqskip", spatial_dims=2, out_channels=3, channels=(8, 16, 32),
                                  norm_groups=4, codebook_size=16, codebook_dim=8)).eval()  # fmt: skip
    skip = dataclasses.replace(tiny_trio.member("vqunet"), key="vqskip", name="VQ skips", kind="vqskip",
                               colour=PALETTE[3], model=net, sha256="0")  # fmt: skip
    models = ModelSet("four", (*tiny_trio.members, skip))
    viewer = make_napari_viewer()
    viewer.add_image(disc[0], name="discs", scale=(0.5, 0.5))
    widget = RobustnessExplorer(viewer)
    viewer.window.add_dock_widget(widget)
    widget.controls.draws.setValue(2)
    widget.add_set(models)
    try:
        qtbot.waitUntil(lambda: widget.view is not None and not widget.busy, timeout=60000)
        grid, layers = viewer.canvas.grid, list(viewer.layers)
        assert tuple(grid.shape) == (2, 3)
        pos = {lay.name: grid.position(i, layers) for i, lay in enumerate(layers)}
        assert [pos[n] for n in ("UNet", "VQ-UNet", "VQ copy", "VQ skips")] == [
            (0, 0), (0, 1), (0, 2), (1, 0)]  # fmt: skip
        latents = [widget.controls.latent.itemText(i) for i in range(widget.controls.latent.count())]
        assert latents[0] == "bottleneck" and "skip0" in latents
        widget.controls.latent.setCurrentText("skip0")
        qtbot.waitUntil(lambda: widget.layers.layer("latent:unet") is None, timeout=10000)
        lat = widget.layers.layer("latent:vqskip")
        assert lat.name == "VQ skips · latent variance (skip0)"
        skip0 = widget.view.models["vqskip"].latents["skip0"]
        assert lat.data.shape == skip0.variance.shape
        assert widget.layers.layer("codes:vqskip") is not None
        assert math.isnan(widget.metrics.values["unet"]["latent_variance"])
        assert not math.isnan(widget.metrics.values["vqskip"]["latent_variance"])
    finally:
        widget.shutdown()
        qtbot.waitUntil(lambda: not widget._workers, timeout=10000)


def test_ground_truth_follows_the_image(explorer, qtbot) -> None:
    viewer, controls = explorer.viewer, explorer.controls
    image, label = viewer.layers["discs"].data, viewer.layers["discs gt"].data
    viewer.add_image(np.roll(image, 9, axis=1), name="case2", scale=(0.5, 0.5))
    viewer.add_labels(np.roll(label, 9, axis=1), name="case2_mask", scale=(0.5, 0.5))
    controls.image.setCurrentText("case2")
    assert controls.gt.currentText() == "case2_mask"  # not the first case's mask
    qtbot.waitUntil(lambda: not explorer.busy, timeout=30000)
    controls.image.setCurrentText("discs")
    assert controls.gt.currentText() == "discs gt"
    viewer.add_image(image[::-1].copy(), name="unnamed", scale=(0.5, 0.5))
    controls.image.setCurrentText("unnamed")
    assert controls.gt.currentText() == "(none)"  # no guess between two masks of this shape
    wait_idle(qtbot, explorer)


def test_hd95_is_in_pixels_when_the_image_has_no_spacing(explorer, qtbot) -> None:
    viewer, controls = explorer.viewer, explorer.controls
    image, label = viewer.layers["discs"].data, viewer.layers["discs gt"].data
    viewer.add_image(image, name="photo")  # napari defaults: scale 1, pixel units
    viewer.add_labels(label, name="photo_mask")
    controls.image.setCurrentText("photo")
    qtbot.waitUntil(lambda: explorer.view is not None and explorer.view.hd95_units == "px",
                    timeout=30000)  # fmt: skip
    wait_idle(qtbot, explorer)
    headers = [explorer.metrics.horizontalHeaderItem(i).text()
               for i in range(explorer.metrics.columnCount())]  # fmt: skip
    assert any(h.startswith("HD95 px") for h in headers)
    assert not any("mm" in h for h in headers)


def test_opening_an_image_starts_a_run_on_it(explorer, qtbot) -> None:
    viewer, controls = explorer.viewer, explorer.controls
    image = viewer.layers["discs"].data
    shifted = np.roll(image, 12, axis=0)
    first = explorer.view
    viewer.add_image(shifted, name="opened later", scale=(0.5, 0.5))
    assert controls.image.currentText() == "opened later"
    qtbot.waitUntil(lambda: explorer.view is not first and not explorer.busy, timeout=30000)
    assert explorer.view.corrupted.shape == shifted.shape
    assert controls.gt.currentText() == "(none)"  # its ground truth is not the other case's
    assert "Choose an image" not in explorer.status.text()


def test_without_ground_truth_the_cr_radiograph_gets_agreement_and_typicality(
    make_napari_viewer, qtbot
) -> None:
    from napari_vqseg._sample_data import load_sample
    from napari_vqseg.explorer._qt.widget import RobustnessExplorer
    from vqseg_core.pretrained import load_set

    viewer = make_napari_viewer()
    for data, kwargs, kind in load_sample("chest-xray-cr"):
        getattr(viewer, f"add_{kind}")(data, **kwargs)
    widget = RobustnessExplorer(viewer)
    viewer.window.add_dock_widget(widget, name="Robustness Explorer")
    widget.controls.draws.setValue(2)
    widget.add_set(load_set("chest-xray"))
    qtbot.waitUntil(lambda: widget.view is not None and not widget.busy, timeout=120000)
    try:
        headers = [widget.metrics.horizontalHeaderItem(i).text()
                   for i in range(widget.metrics.columnCount())]  # fmt: skip
        assert any(h.startswith("agrees with") for h in headers)
        assert any(h.startswith("typical") for h in headers)
        values = widget.metrics.values
        assert values["unet"]["agreement"] == 1.0  # the reference agrees with itself
        assert 0.0 <= values["vqunet"]["agreement"] <= 1.0
        assert all(0.0 <= values[k]["typicality_percentile"] <= 100.0 for k in ("unet", "vqunet"))
        assert any(h.startswith("agrees with\nclean image") for h in headers)
        assert "lungs\narea px" in headers and "heart\narea px" in headers  # no spacing: px
        for key in ("unet", "vqunet"):  # each model against its own clean-image mask
            assert 0.0 <= values[key]["clean_agreement"] <= 1.0
            mask = widget.view.models[key].labels
            assert values[key]["area_lungs"] == float((mask == 1).sum()) > 0
    finally:
        widget.shutdown()
        qtbot.waitUntil(lambda: not widget._workers, timeout=10000)


def test_nan_pixels_are_replaced_at_the_users_click_and_said_and_an_all_nan_image_is_refused(
    explorer, qtbot
) -> None:
    viewer, controls = explorer.viewer, explorer.controls
    image = viewer.layers["discs"].data.astype(np.float32)
    holes = image.copy()
    holes[:4, :4] = np.nan
    viewer.add_image(holes, name="holes", scale=(0.5, 0.5))
    qtbot.waitUntil(lambda: "16 pixels of this image are NaN" in explorer.status.text(),
                    timeout=30000)  # fmt: skip
    assert controls.image.currentText() == "holes" and not explorer.busy
    assert not explorer.replace_offer.isHidden()  # the refusal comes with its remedy
    assert explorer.run_now() is None  # nothing runs until the user agrees
    explorer.replace_offer.click()
    qtbot.waitUntil(lambda: explorer.view is not None and not explorer.busy
                    and "16 NaN/Inf pixels replaced" in explorer.status.text(), timeout=30000)  # fmt: skip
    assert explorer.replace_offer.isHidden()
    assert np.isnan(viewer.layers["holes"].data[0, 0])  # the layer itself is untouched
    viewer.add_image(np.full_like(image, np.nan), name="void", scale=(0.5, 0.5))
    assert controls.image.currentText() == "void"
    assert explorer.run_now() is None
    assert "nothing to segment" in explorer.status.text()
