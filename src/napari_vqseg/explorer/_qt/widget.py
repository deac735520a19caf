"""The Robustness Explorer dock widget: renders the session's results and forwards signals.

Every control change restarts a 150 ms debounce timer; when it fires, the controls' settings
go to the :class:`~napari_vqseg.explorer.session.ExplorerSession` with the image, which
answers with a step: a cached view shows at once, a job runs in a napari thread worker
(:func:`napari_vqseg.explorer.workers.analyse` on the session's request, cancelled through
``job.cancel`` when a newer job starts; stale results are dropped). On a volume the slice on
screen is the ``focus``: each model's mask is shown from the worker's ``yielded`` signal as
soon as that slice is final. A slider move is progressive (:mod:`._qt.stages`): every model's
mask and the metrics show from the ``yielded`` signal first, the latent maps follow with the
result ("computing latents..." meanwhile), and while no latent layer is visible no latent work
runs (making one visible again computes them). Choosing a volume sets the axial view (slider
over the last axis, anterior up, the patient's right on the left). Every decision (what to
run, cache, de-duplication, staleness) is the session's.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from qtpy.QtCore import QObject, QTimer, Signal
from qtpy.QtWidgets import (
    QGridLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from napari_vqseg.explorer._qt import dialogs, stages, stale
from napari_vqseg.explorer._qt.controls import ControlsPanel
from napari_vqseg.explorer._qt.legend import ClassLegend
from napari_vqseg.explorer._qt.metrics_table import MetricsTable
from napari_vqseg.explorer._qt.nonfinite import ReplaceOffer
from napari_vqseg.explorer._qt.orientation import AxialView
from napari_vqseg.explorer.layers import ExplorerLayers
from napari_vqseg.explorer.session import ExplorerSession, Step
from napari_vqseg.explorer.settings import ExplorerSettings
from napari_vqseg.explorer.state import Job, JobTracker

if TYPE_CHECKING:
    import napari

DEBOUNCE_MS = 150


class _Relay(QObject):
    """Carries progress from a worker thread to the main thread (queued signal)."""

    progressed = Signal(int, int)


class RobustnessExplorer(QWidget):
    """2-6 models under a corruption you control, side by side, with live metrics.

    Args:
        napari_viewer: the viewer to add the result layers to.
        session: a session prepared beforehand (``vqseg-demo`` loads the models first);
            default a new one.
    """

    def __init__(
        self,
        napari_viewer: napari.viewer.Viewer,
        parent: QWidget | None = None,
        session: ExplorerSession | None = None,
    ) -> None:
        super().__init__(parent)
        self.viewer = napari_viewer
        self.session = session or ExplorerSession()
        self.layers = ExplorerLayers(napari_viewer)
        self.plot: Any | None = None
        self._life = {"closed": False}  # outlives the C++ widget (see _mark_closed)
        self._workers: set[Any] = set()
        # no Qt parent: a sweep worker still emitting after the viewer closed must find the relay
        # alive (the worker holds it); Qt drops the connection to the destroyed widget itself
        self._relay = _Relay()
        self._relay.progressed.connect(self._on_sweep_progress)

        self.controls = ControlsPanel(napari_viewer, self.session.members, self)
        self.metrics = MetricsTable(self)
        self.status = QLabel("Choose an image layer and the models to compare.")
        self.status.setWordWrap(True)
        self.legend = ClassLegend(self)
        self.replace_offer = ReplaceOffer(self)
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
        layout.addWidget(self.replace_offer)
        layout.addWidget(self.legend)
        layout.addWidget(self.metrics, 1)

        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.setInterval(DEBOUNCE_MS)
        self._timer.timeout.connect(self.run_now)
        self.controls.changed.connect(self.schedule)
        self._axial = AxialView(napari_viewer)
        self._image_notes: list[str] = []
        self._checked: tuple[tuple[int, int, bool], Any] | None = None
        self.results_of: stale.Owner | None = None
        """The image whose results are shown or computed (:mod:`._qt.stale`)."""
        self.controls.image.currentIndexChanged.connect(self._axial_view)
        self._axial_view()
        self.controls.side_by_side.toggled.connect(self._arrange)
        self.controls.files_requested.connect(functools.partial(dialogs.choose_files, self))
        self.cancel_button.clicked.connect(self.cancel)
        self.sweep_button.clicked.connect(self.start_sweep)
        self.export_button.clicked.connect(functools.partial(dialogs.choose_export, self))
        self.import_button.clicked.connect(functools.partial(dialogs.choose_import, self))
        self.layers.on_latent_shown = functools.partial(stages.latents_shown, self)
        self.replace_offer.agreed.connect(self.run_now)
        self.destroyed.connect(functools.partial(_mark_closed, self._life, self.session.jobs))
        self.schedule()

    @property
    def _closed(self) -> bool:
        return self._life["closed"]

    # ---- what the session holds (read-only views for tests and vqseg-demo) ---------------
    @property
    def view(self) -> Any | None:
        """The view on screen (:class:`~vqseg_core.robustness.RobustnessView`), or ``None``."""
        return self.session.view

    @property
    def sweep_rows(self) -> list[dict[str, Any]]:
        """The last sweep's rows."""
        return self.session.sweep_rows

    @property
    def cache(self) -> Any:
        """The session's result cache."""
        return self.session.cache

    @property
    def jobs(self) -> JobTracker:
        """The session's jobs."""
        return self.session.jobs

    @property
    def busy(self) -> bool:
        """Whether inference, a model load or a sweep is running or scheduled."""
        return self._timer.isActive() or self.session.busy

    # ---- public API (also what the tests and vqseg-demo drive) -----------------------------
    def add_set(self, model_set: Any) -> None:
        """Offer an already loaded :class:`~vqseg_core.modelset.ModelSet` and select it."""
        self.controls.offer(self.session.add_set(model_set))
        self.schedule()

    add_pair = add_set
    """Earlier versions' name of :meth:`add_set` (a pair is a two-model set)."""

    def apply(self, settings: ExplorerSettings) -> None:
        """Set the controls from ``settings`` (the analysis follows after the debounce)."""
        self.controls.apply(settings)
        self._arrange()

    def schedule(self) -> None:
        """(Re)start the debounce timer; the analysis runs when the controls rest."""
        if not self._closed:
            self._timer.start()

    def cancel(self) -> None:
        """Cancel everything running (analysis, sweep, model loading)."""
        self._timer.stop()
        n = self.session.cancel()
        self._set_busy(False)
        if n:
            self.status.setText("Cancelled.")

    def run_now(self) -> Job | None:
        """Analyse with the current settings now (cached results show at once)."""
        if self._closed:
            return None
        self.replace_offer.offer(None)  # offered again below for an image that needs it
        layer = self.controls.current_image_layer()
        gone = stale.forget_other_image(self, layer)  # before any refusal: never old results
        if layer is None:
            self.status.setText("\n".join(["Choose an image layer (open an image or a sample "
                                            "first).", gone]).strip())  # fmt: skip
            return None
        from napari_vqseg.explorer._qt.controls import image_fit

        unfit = image_fit(layer, self.controls.models.currentText())
        checked = self._check(layer) if unfit is None else None
        if checked is not None:
            self._image_notes = checked.notes
        if checked is None or not checked.usable:
            why = unfit if checked is None else " ".join(self._image_notes)
            self.status.setText(f"{why}\n{gone}".strip())
            return None
        image = checked.image
        self.results_of = stale.owner(layer)  # what is shown or computed from here on
        chosen = self.controls.current_gt_layer()
        gt_layer = _matching(chosen, layer)  # another shape: ignored, the session says so
        settings = self.controls.settings()
        step = self.session.analyse(
            settings, image, _spacing(layer),
            None if chosen is None else np.asarray(chosen.data), self.focus_slice(layer),
            self.layers.latents_wanted(self.session.chosen_keys(settings)),
        )  # fmt: skip
        if step.message or self._image_notes or gone:  # a refusal or a load: what went too
            self.status.setText("\n".join(t for t in [*self._image_notes, step.message, gone] if t))
        if step.action == "show":
            self._set_busy(self.session.busy)
            self._show(step.view, layer, gt_layer)
        elif step.action == "load":
            self._start(step.job, self._on_models)
        elif step.action == "start":
            if self.session.forget_if_stale(step.request):
                self.layers.remove_all()  # the old image's or set's results: never on screen
                self.metrics.setRowCount(0)
                if not step.request.latents:  # its latent layers went too: make them again
                    self.session.cancel("analyse")
                    self.session.finished(step.job)
                    return self.run_now()
            focus, s = step.request.focus, self.session.settings
            where = "" if focus is None else f", slice {focus} first"
            running = f"Running {s.kind} at {s.level:g} on {s.device}{where}..."
            self.status.setText(f"{step.message}\n{running}" if step.message else running)
            self._start(step.job, functools.partial(self._on_result, layer, gt_layer),
                        on_yield=functools.partial(stages.on_step, self, step, layer, gt_layer))  # fmt: skip
        return step.job if step.action == "start" else None

    def _check(self, layer: Any) -> Any:
        """The image as it will run, and what the user must know about it (once per image and
        per answer to the NaN/Inf replacement, which :attr:`replace_offer` asks for)."""
        from napari_vqseg.explorer.image_checks import checked_image

        key = (id(layer), id(layer.data))
        agreed = self.replace_offer.agrees(key)
        if self._checked is None or self._checked[0] != (*key, agreed):
            header = (layer.metadata or {}).get("header") or {}
            checked = checked_image(np.asarray(layer.data), header.get("notes", ()), agreed)
            self._checked = ((*key, agreed), checked)
        checked = self._checked[1]
        self.replace_offer.offer(key if checked.fixable else None)
        return checked

    def focus_slice(self, layer: Any) -> int | None:
        """The axial slice of a volume ``layer`` on screen (its last data axis), else ``None``."""
        if layer.ndim != 3:
            return None
        point = np.asarray(self.viewer.dims.point, dtype=float)[-layer.ndim :]
        z = float(np.asarray(layer.world_to_data(point))[-1])
        return int(min(max(round(z), 0), layer.data.shape[-1] - 1))

    def _axial_view(self, *_: Any) -> None:
        """Axial slices for a volume, napari's default view for a 2D image (:class:`AxialView`)."""
        if not self._closed:
            self._axial.follow(self.controls.current_image_layer())

    def start_sweep(self) -> Job | None:
        """Run a level sweep of the current corruption (metric vs level, every model)."""
        layer = self.controls.current_image_layer()
        if layer is None:
            self.status.setText("A sweep needs an image layer.")
            return None
        gt_layer = _matching(self.controls.current_gt_layer(), layer)
        checked = self._check(layer)
        if not checked.usable:
            self.status.setText(" ".join(checked.notes))
            return None
        step = self.session.sweep(
            self.controls.settings(), checked.image, _spacing(layer),
            None if gt_layer is None else np.asarray(gt_layer.data), self._relay.progressed.emit,
        )  # fmt: skip
        self.status.setText(step.message)
        if step.action != "start":
            return None
        self.sweep_button.setEnabled(False)  # one sweep at a time; Cancel stops it
        self._start(step.job, self._on_sweep)  # busy until the first level is done
        return step.job

    def export(self, folder: str | Path) -> list[Path]:
        """Write the report folder (metrics, plots, screenshot, settings)."""
        self.session.settings = self.controls.settings()
        shot = self.viewer.screenshot(canvas_only=False, flash=False)
        extra = {"image": self._image_info(), "device": self.session.settings.device,
                 "warnings": list(self._image_notes)}  # fmt: skip
        files = self.session.export(folder, shot, extra)
        self.status.setText(f"Exported {len(files)} files to {folder}.")
        return files

    def import_settings(self, path: str | Path) -> ExplorerSettings:
        """Restore the controls from an export folder or its ``settings.json``."""
        from napari_vqseg.explorer.report import import_settings

        settings, note = import_settings(path)  # TorchScript is code: never from here
        self.apply(settings)
        if note:
            self.status.setText(note)
        return settings

    # ---- workers ---------------------------------------------------------------------------
    def _start(
        self,
        job: Job | None,
        on_done: Callable[[Job, Any], None],
        determinate: bool = False,
        on_yield: Any = None,
    ) -> None:
        from napari.qt.threading import create_worker

        assert job is not None and job.work is not None
        worker = create_worker(job.work, _start_thread=False)
        self._workers.add(worker)
        worker.returned.connect(functools.partial(on_done, job))
        if on_yield is not None:
            worker.yielded.connect(on_yield)
        worker.finished.connect(functools.partial(self._on_finished, worker, job))
        if not determinate:
            self.progress.setRange(0, 0)
        self._set_busy(True)
        worker.start()

    def _on_finished(self, worker: Any, job: Job) -> None:
        self._workers.discard(worker)
        self.session.finished(job)
        if self._closed:
            return
        if job.kind == "sweep" and self.session.jobs.live(job.key, "sweep") is None:
            self.sweep_button.setEnabled(True)
        if not self.session.busy:
            self._set_busy(False)

    def _on_result(self, layer: Any, gt_layer: Any, job: Job, outcome: tuple[str, Any]) -> None:
        if self._closed:
            return
        step = self.session.accept(job, outcome)
        if step.action == "error":
            self._report_error(step.error)
        elif step.action == "show" and layer in self.viewer.layers:
            self._show(step.view, layer, gt_layer if gt_layer in self.viewer.layers else None)

    def _on_partial(self, step: Step, layer: Any, partial: Any) -> None:
        """One model's mask of a volume still running: its focus slice is final."""
        stages.on_partial(self, step, layer, partial)

    def _on_models(self, job: Job, outcome: tuple[str, Any]) -> None:
        if self._closed:
            return
        step = self.session.accept_models(job, outcome)
        if step.action == "error":
            self.controls.set_models_note(step.message)
            self._report_error(step.error)
        elif step.action == "loaded":
            self.controls.refresh_members()
            self.status.setText(step.message)
            self.schedule()

    def _on_sweep(self, job: Job, outcome: tuple[str, Any]) -> None:
        if self._closed:
            return
        step = self.session.accept_sweep(job, outcome)
        if step.action == "error":
            self._report_error(step.error)
        elif step.action == "show":
            rows = self.session.sweep_rows
            layer = self.controls.current_image_layer()
            self._plot_dock().set_rows(rows, self.session.sweep_units, self.session.legend(),
                                       "" if layer is None else layer.name)  # fmt: skip
            self.status.setText(step.message)

    def _on_sweep_progress(self, done: int, total: int) -> None:
        if not self._closed:
            self.progress.setRange(0, total)
            self.progress.setValue(done)

    def report_problem(self, text: str) -> None:
        """A problem in plain words: the status line and one notification."""
        from napari.utils.notifications import show_error

        self.status.setText(text)
        show_error(f"Robustness Explorer: {text}")

    def _report_error(self, err: BaseException | None) -> None:
        from napari.utils.notifications import show_error

        self.status.setText(f"Error: {err}")
        show_error(f"Robustness Explorer: {err}")

    # ---- display ---------------------------------------------------------------------------
    def sync_legend(self) -> None:
        """The class colours of the set on screen for the layers, and the legend under the
        status (each model's mask colour too when the layers are stacked)."""
        self.legend.sync(self.session, self.layers, not self.controls.side_by_side.isChecked())

    def _show(self, view: Any, layer: Any, gt_layer: Any | None) -> None:
        before = {id(lay) for lay in self.layers.all()}
        settings, legend = self.session.settings, self.session.shown_legend()
        self.layers.keys = list(view.models)
        self.sync_legend()
        self.layers.show(view, layer, gt_layer, legend, settings.latent)
        if {id(lay) for lay in self.layers.all()} != before:
            self._arrange()
            if layer in self.viewer.layers:  # napari makes a new layer active: a result layer
                self.viewer.layers.selection.active = layer  # must not be painted by mistake
        if stale.fit_due(self, before):
            stale.fit(self, layer)
        self.metrics.show_view(view, legend, settings.latent)
        state = getattr(view, "latent_state", "done")
        if state == "done":
            self.controls.set_latents([n for mv in view.models.values() for n in mv.latents])
        c = view.corruption
        note = stages.LATENT_NOTES.get(state) or getattr(view, "latent_note", "")
        models = self.session.shown_set()  # the set that ran, whatever is chosen now
        names = ", ".join(legend[k].name if k in legend else k for k in view.models)
        which = f"{models.name}: {names}; " if models is not None else ""
        text = f"{which}{c.kind} at {c.level:g} (seed {c.seed}, {view.n_draws} draws)."
        ran = "; ".join(models.backend_notes()) if models is not None else ""
        lines = [*self._image_notes, text, f"Labels by {ran}." if ran else "", note]
        self.status.setText("\n".join(line for line in lines if line))
        self.status.setToolTip(note)

    def _arrange(self, *_: Any) -> None:
        if not self._closed:
            self.layers.arrange(self.controls.side_by_side.isChecked())
            self.sync_legend()

    def _plot_dock(self) -> Any:
        from napari_vqseg.explorer._qt.plot_dock import SweepPlot

        if self.plot is None:
            self.plot = SweepPlot()
            # below the canvas: beside the explorer it squeezed the explorer's labels
            self.viewer.window.add_dock_widget(self.plot, name="Robustness sweep", area="bottom")
        return self.plot

    def _set_busy(self, busy: bool) -> None:
        self.cancel_button.setEnabled(busy)
        if not busy:
            self.progress.setRange(0, 1)
            self.progress.setValue(0)

    def _image_info(self) -> dict[str, Any] | None:
        layer = self.controls.current_image_layer()
        if layer is None:
            return None
        return {"layer": layer.name, "shape": list(layer.data.shape),
                "scale": list(map(float, layer.scale)), "path": layer.metadata.get("path")}  # fmt: skip

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
        self.session.cancel()
        with contextlib.suppress(RuntimeError, TypeError, ValueError):
            self.controls.disconnect_viewer()


def _matching(gt_layer: Any | None, layer: Any) -> Any | None:
    """The ground-truth layer when it has the image's shape (else it is ignored)."""
    if gt_layer is None or tuple(gt_layer.data.shape) != tuple(layer.data.shape):
        return None
    return gt_layer


def _spacing(layer: Any) -> tuple[float, ...] | None:
    """mm per axis, or ``None`` (HD95 then in pixels) when the image has no known spacing."""
    from napari_vqseg._layers import layer_spacing

    return layer_spacing(layer)


def _mark_closed(life: dict[str, bool], jobs: JobTracker, *_: Any) -> None:
    """On the widget's destruction: late worker results are dropped, running jobs cancelled."""
    life["closed"] = True
    jobs.cancel_all()
