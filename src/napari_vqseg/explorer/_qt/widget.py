"""The Robustness Explorer dock widget: wires the controls to background inference and layers.

Every control change restarts a 150 ms debounce timer; when it fires, a cached result shows at
once, otherwise a generator ``thread_worker`` runs :func:`vqseg_core.robustness.iter_analyse`
with the job's ``cancel`` callable (starting a job cancels the older ones, whose results are
dropped). On a volume the slice on screen is the ``focus``: each model's mask is shown from the
worker's ``yielded`` signal as soon as that slice is final, the rest follows. Choosing a volume
sets the axial view (slider over the last axis, anterior up).
"""

from __future__ import annotations

import contextlib
import functools
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QObject, QTimer, Signal
from qtpy.QtWidgets import (
    QFileDialog,
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_vqseg.explorer import workers
from napari_vqseg.explorer._qt.controls import ControlsPanel
from napari_vqseg.explorer._qt.metrics_table import MetricsTable
from napari_vqseg.explorer.layers import ExplorerLayers
from napari_vqseg.explorer.state import (
    FROM_FILES,
    ExplorerSettings,
    Job,
    JobTracker,
    ResultCache,
    array_fingerprint,
    make_key,
    pair_id,
)

if TYPE_CHECKING:
    import napari

DEBOUNCE_MS = 150


class _Relay(QObject):
    """Carries progress from a worker thread to the main thread (queued signal)."""

    progressed = Signal(int, int)


class RobustnessExplorer(QWidget):
    """UNet vs VQ-UNet under a corruption you control, side by side, with live metrics.

    Args:
        napari_viewer: the viewer to add the result layers to.
    """

    def __init__(self, napari_viewer: napari.viewer.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.cache = ResultCache()
        self.jobs = JobTracker()
        self.layers = ExplorerLayers(napari_viewer)
        self.pairs: dict[Any, Any] = {}
        self.view: Any | None = None
        self.sweep_rows: list[dict[str, Any]] = []
        self.plot: Any | None = None
        self._shown_key: Any = None
        self._life = {"closed": False}  # outlives the C++ widget (see _mark_closed)
        self._workers: set[Any] = set()
        # no Qt parent: a sweep worker still emitting after the viewer closed must find the relay
        # alive (the worker holds it); Qt drops the connection to the destroyed widget itself
        self._relay = _Relay()
        self._relay.progressed.connect(self._on_sweep_progress)

        self.controls = ControlsPanel(napari_viewer, self)
        self.metrics = MetricsTable(self)
        self.status = QLabel("Choose an image layer and a model pair.")
        self.status.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setRange(0, 1)
        self.progress.setTextVisible(False)
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.sweep_button = QPushButton("Sweep levels")
        self.export_button = QPushButton("Export report...")
        self.import_button = QPushButton("Import settings...")
        buttons = QGridLayout()
        buttons.addWidget(self.progress, 0, 0, 1, 2)
        buttons.addWidget(self.cancel_button, 0, 2)
        buttons.addWidget(self.sweep_button, 1, 0)
        buttons.addWidget(self.export_button, 1, 1)
        buttons.addWidget(self.import_button, 1, 2)
        layout = QVBoxLayout(self)
        layout.addWidget(self.controls)
        layout.addLayout(buttons)
        layout.addWidget(self.status)
        layout.addWidget(self.metrics, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.run_now)
        self.controls.changed.connect(self.schedule)
        self._axial_for: int | None = None
        self.controls.image.currentIndexChanged.connect(self._axial_view)
        self._axial_view()
        self.controls.side_by_side.toggled.connect(self._arrange)
        self.controls.pair_files_requested.connect(self._choose_pair_files)
        self.cancel_button.clicked.connect(self.cancel)
        self.sweep_button.clicked.connect(self.start_sweep)
        self.export_button.clicked.connect(self._choose_export)
        self.import_button.clicked.connect(self._choose_import)
        self.destroyed.connect(functools.partial(_mark_closed, self._life, self.jobs))
        self.schedule()

    @property
    def _closed(self) -> bool:
        return self._life["closed"]

    # ---- public API (also what the tests and vqseg-demo drive) -----------------------------
    def add_pair(self, pair: Any) -> None:
        """Offer an already loaded :class:`~vqseg_core.pretrained.ModelPair` and select it."""
        combo = self.controls.pair
        if combo.findText(pair.name) < 0:
            combo.insertItem(max(0, combo.count() - 1), pair.name)
        self.pairs[pair.name] = pair
        combo.setCurrentText(pair.name)
        self.schedule()

    @property
    def busy(self) -> bool:
        """Whether inference, a pair load or a sweep is running or scheduled."""
        return self._timer.isActive() or any(not j.cancelled for j in self.jobs.running)

    def schedule(self) -> None:
        """(Re)start the debounce timer; the analysis runs when the controls rest."""
        if not self._closed:
            self._timer.start()

    def cancel(self) -> None:
        """Cancel everything running (analysis, sweep, pair loading)."""
        self._timer.stop()
        n = self.jobs.cancel_all()
        self._set_busy(False)
        if n:
            self.status.setText("Cancelled.")

    def current_pair(self) -> Any | None:
        """The selected pair if loaded."""
        return self.pairs.get(self._pair_key(self.controls.settings()))

    def run_now(self) -> Job | None:
        """Analyse with the current settings now (cached results show at once)."""
        if self._closed:
            return None
        settings = self.controls.settings()
        layer = self.controls.current_image_layer()
        if layer is None:
            self.status.setText("Choose an image layer (open an image or a sample first).")
            return None
        pair = self._pair_or_load(settings)
        if pair is None:
            return None
        if layer.ndim != pair.spatial_dims:
            self.status.setText(
                f"Pair {pair.name!r} is {pair.spatial_dims}D; {layer.name!r} is {layer.ndim}D."
            )
            return None
        array = np.asarray(layer.data)
        gt_layer = self.controls.current_gt_layer()
        gt = None if gt_layer is None else np.asarray(gt_layer.data)
        if gt is not None and gt.shape != array.shape:
            self.status.setText(
                f"Ground truth {gt_layer.name!r} has shape {gt.shape}, not {array.shape}: ignored."
            )
            gt, gt_layer = None, None
        key = make_key(settings, pair_id(pair.name, pair.sha256), array_fingerprint(array),
                       None if gt is None else array_fingerprint(gt))  # fmt: skip
        if any(j.kind == "analyse" and j.key == key and not j.cancelled for j in self.jobs.running):
            return None  # already on its way
        cached = self.cache.get(key)
        if cached is not None:
            self.jobs.cancel_all("analyse")
            self._set_busy(False)
            self._show(cached, key, layer, gt_layer)
            return None
        job = self.jobs.start(key, "analyse")
        spacing = tuple(float(s) for s in layer.scale)
        focus = self.focus_slice(layer)
        where = "" if focus is None else f", slice {focus} first"
        self.status.setText(
            f"Running {settings.kind} at {settings.level:g} on {settings.device}{where}..."
        )
        self._start(workers.analyse, job, (pair, array, spacing, settings, gt, focus, job.cancel),
                    functools.partial(self._on_result, job, layer, gt_layer),
                    on_yield=functools.partial(self._on_partial, job, layer))  # fmt: skip
        return job

    def focus_slice(self, layer: Any) -> int | None:
        """The axial slice of a volume ``layer`` on screen (its last data axis), else ``None``."""
        if layer.ndim != 3:
            return None
        point = np.asarray(self.viewer.dims.point, dtype=float)[-layer.ndim :]
        z = float(np.asarray(layer.world_to_data(point))[-1])
        return int(min(max(round(z), 0), layer.data.shape[-1] - 1))

    def _axial_view(self, *_: Any) -> None:
        """Axial slices of a volume (slider over its last axis, anterior up), once per layer."""
        layer = self.controls.current_image_layer()
        if self._closed or layer is None or layer.ndim != 3 or self.viewer.dims.ndim != 3:
            return
        if self._axial_for == id(layer):
            return
        self._axial_for = id(layer)
        self.viewer.dims.order = (2, 1, 0)
        scene = getattr(self.viewer, "scene", None)  # napari >= 0.9; .camera before
        camera = scene.camera if scene is not None else self.viewer.camera
        with contextlib.suppress(AttributeError, ValueError):
            camera.orientation2d = ("up", "right")

    def start_sweep(self) -> Job | None:
        """Run a level sweep of the current corruption (metric vs level, both models)."""
        from vqseg_core.robustness import default_levels

        settings = self.controls.settings()
        layer, pair = self.controls.current_image_layer(), self.current_pair()
        if layer is None or pair is None or layer.ndim != pair.spatial_dims:
            self.status.setText(
                "A sweep needs an image layer and a loaded pair of the same dimension."
            )
            return None
        gt_layer = self.controls.current_gt_layer()
        gt = None if gt_layer is None else np.asarray(gt_layer.data)
        if gt is not None and gt.shape != layer.data.shape:
            gt = None
        levels = default_levels(settings.kind)
        job = self.jobs.start(("sweep", settings.kind, settings.seed), "sweep")
        self.progress.setRange(0, len(levels))
        self.progress.setValue(0)
        self.status.setText(f"Sweeping {settings.kind} over {len(levels)} levels...")
        args = (pair, np.asarray(layer.data), tuple(float(s) for s in layer.scale), settings, gt,
                tuple(levels), job.cancel, self._relay.progressed.emit)  # fmt: skip
        self._start(
            workers.sweep, job, args, functools.partial(self._on_sweep, job), determinate=True
        )
        return job

    def export(self, folder: str | Path) -> list[Path]:
        """Write the report folder (metrics, plots, screenshot, settings)."""
        from napari_vqseg.explorer.report import export_report
        from vqseg_core.perturb import get_spec

        settings = self.controls.settings()
        shot = self.viewer.screenshot(canvas_only=False, flash=False)
        files = export_report(
            folder, settings, pair=self.current_pair(), view=self.view, sweep=self.sweep_rows,
            screenshot=shot, units=get_spec(settings.kind).units,
            extra={"image": self._image_info(), "device": settings.device},
        )  # fmt: skip
        self.status.setText(f"Exported {len(files)} files to {folder}.")
        return files

    def import_settings(self, path: str | Path) -> ExplorerSettings:
        """Restore the controls from an export folder or its ``settings.json``."""
        from napari_vqseg.explorer.report import read_settings

        settings = read_settings(path)
        self.controls.apply(settings)
        self._arrange()
        return settings

    # ---- workers ---------------------------------------------------------------------------
    def _start(
        self,
        fn: Any,
        job: Job,
        args: tuple,
        on_done: Any,
        determinate: bool = False,
        on_yield: Any = None,
    ) -> None:
        from napari.qt.threading import create_worker

        worker = create_worker(fn, *args, _start_thread=False)
        self._workers.add(worker)
        worker.returned.connect(on_done)
        if on_yield is not None:
            worker.yielded.connect(on_yield)
        worker.finished.connect(functools.partial(self._on_finished, worker, job))
        if not determinate:
            self.progress.setRange(0, 0)
        self._set_busy(True)
        worker.start()

    def _on_finished(self, worker: Any, job: Job) -> None:
        self._workers.discard(worker)
        self.jobs.finish(job)
        if not self._closed and not any(not j.cancelled for j in self.jobs.running):
            self._set_busy(False)

    def _on_result(self, job: Job, layer: Any, gt_layer: Any, outcome: tuple[str, Any]) -> None:
        status, value = outcome
        if self._closed or job.cancelled:
            return
        if status == "error":
            self._report_error(value)
            return
        if status == "ok":
            self.cache.put(job.key, value)
            if layer in self.viewer.layers:
                self._show(
                    value, job.key, layer, gt_layer if gt_layer in self.viewer.layers else None
                )

    def _on_partial(self, job: Job, layer: Any, partial: Any) -> None:
        """One model's mask of a volume still running: its focus slice is final."""
        if self._closed or job.cancelled or layer not in self.viewer.layers:
            return
        first = not self.layers.all()
        self.layers.show_partial(partial.model, partial.labels, layer)
        if first:
            self._arrange()
            self.viewer.reset_view()
        a, b = partial.z_range
        name = {"unet": "UNet", "vqunet": "VQ-UNet"}.get(partial.model, partial.model)
        self.status.setText(
            f"{name}: slices {a}-{b - 1} ready; the rest of the volume is running..."
        )

    def _on_sweep(self, job: Job, outcome: tuple[str, Any]) -> None:
        status, value = outcome
        if self._closed or job.cancelled or status == "cancelled":
            return
        if status == "error":
            self._report_error(value)
            return
        from vqseg_core.perturb import get_spec

        self.sweep_rows = list(value)
        units = get_spec(self.sweep_rows[0]["kind"]).units if self.sweep_rows else ""
        self._plot_dock().set_rows(self.sweep_rows, units)
        self.status.setText(f"Sweep done: {len(self.sweep_rows) // 2} levels.")

    def _on_sweep_progress(self, done: int, total: int) -> None:
        if not self._closed:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def _report_error(self, err: BaseException) -> None:
        from napari.utils.notifications import show_error

        self.status.setText(f"Error: {err}")
        show_error(f"Robustness Explorer: {err}")

    # ---- display ---------------------------------------------------------------------------
    def _show(self, view: Any, key: Any, layer: Any, gt_layer: Any | None) -> None:
        before = {id(lay) for lay in self.layers.all()}
        self.view = view
        self._shown_key = key
        self.layers.show(view, layer, gt_layer)
        if {id(lay) for lay in self.layers.all()} - before:
            self._arrange()
        if not before:
            self.viewer.reset_view()
        self.metrics.show_view(view)
        c = view.corruption
        note = getattr(view, "latent_note", "")
        text = f"{c.kind} at {c.level:g} (seed {c.seed}, {view.n_draws} draws)."
        self.status.setText(f"{text}\n{note}" if note else text)
        self.status.setToolTip(note)

    def _arrange(self, *_: Any) -> None:
        if not self._closed:
            self.layers.arrange(self.controls.side_by_side.isChecked())

    def _plot_dock(self) -> Any:
        from napari_vqseg.explorer._qt.plot_dock import SweepPlot

        if self.plot is None:
            self.plot = SweepPlot()
            self.viewer.window.add_dock_widget(self.plot, name="Robustness sweep", area="right")
        return self.plot

    def _set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        if not busy:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)

    # ---- pairs -----------------------------------------------------------------------------
    def _pair_key(self, settings: ExplorerSettings) -> Any:
        if settings.pair == FROM_FILES:
            return settings.pair_files
        return settings.pair or None

    def _pair_or_load(self, settings: ExplorerSettings) -> Any | None:
        key = self._pair_key(settings)
        if key is None:
            self.status.setText(
                "Choose a model pair: no bundled pair is installed, use 'From files...'."
            )
            return None
        if key in self.pairs:
            return self.pairs[key]
        if any(j.kind == "pair" and j.key == key and not j.cancelled for j in self.jobs.running):
            return None
        job = self.jobs.start(key, "pair")
        self.status.setText(f"Loading model pair {key}...")
        self._start(workers.load_pair, job, (key,), functools.partial(self._on_pair, job))
        return None

    def _on_pair(self, job: Job, outcome: tuple[str, Any]) -> None:
        status, value = outcome
        if self._closed or status == "cancelled":
            return
        if status == "error":
            self.controls.set_pair_note(f"Could not load the pair: {value}")
            self._report_error(value)
            return
        self.pairs[job.key] = value
        self.controls.set_pair_note(f"{value.name}: classes {value.classes}, {value.spatial_dims}D")
        self.schedule()

    # ---- dialogs ---------------------------------------------------------------------------
    def _choose_pair_files(self) -> None:
        unet, _ = QFileDialog.getOpenFileName(
            self, "UNet export", "", "Exports (*.json *.safetensors)"
        )
        if not unet:
            return
        vq, _ = QFileDialog.getOpenFileName(self, "VQ-UNet export", str(Path(unet).parent),
                                            "Exports (*.json *.safetensors)")  # fmt: skip
        if vq:
            self.controls.set_pair_files(unet, vq)

    def _choose_export(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Export report to folder")
        if folder:
            self.export(folder)

    def _choose_import(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "Import settings", "", "Settings (settings.json *.json)"
        )
        if path:
            try:
                self.import_settings(path)
            except ValueError as err:
                self._report_error(err)

    def _image_info(self) -> dict[str, Any] | None:
        layer = self.controls.current_image_layer()
        if layer is None:
            return None
        return {"layer": layer.name, "shape": list(layer.data.shape), "scale": list(map(float, layer.scale)),
                "path": layer.metadata.get("path")}  # fmt: skip

    # ---- closing ---------------------------------------------------------------------------
    def closeEvent(self, event: Any) -> None:
        """Cancel running work and stop listening to the viewer."""
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> None:
        """Cancel everything and disconnect from the viewer; safe to call twice."""
        if self._closed:
            return
        self._life["closed"] = True
        self._timer.stop()
        self.jobs.cancel_all()
        with contextlib.suppress(RuntimeError, TypeError, ValueError):
            self.controls.disconnect_viewer()


def _mark_closed(life: dict[str, bool], jobs: JobTracker, *_: Any) -> None:
    """On the widget's destruction: late worker results are dropped, running jobs cancelled."""
    life["closed"] = True
    jobs.cancel_all()
