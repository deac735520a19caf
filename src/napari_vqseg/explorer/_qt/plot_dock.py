"""The sweep plot dock: metric vs corruption level, one line per model in its colour."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from matplotlib.backends.backend_qtagg import FigureCanvasQTAgg
from matplotlib.figure import Figure
from qtpy.QtWidgets import QComboBox, QHBoxLayout, QLabel, QVBoxLayout, QWidget

from napari_vqseg.explorer.report import DARK, draw_sweep, metric_label, sweep_metrics

PREFERRED = ("dice_mean", "flip_rate", "changed_fraction")


class SweepPlot(QWidget):
    """A metric chooser above a matplotlib canvas; :meth:`set_rows` redraws."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.rows: list[Mapping[str, Any]] = []
        self.units = ""
        self.legend: Mapping[str, Any] = {}
        self.image = ""
        self.figure = Figure(figsize=(4, 3), dpi=100, facecolor=DARK["bg"])
        self.canvas = FigureCanvasQTAgg(self.figure)
        self.canvas.setMinimumHeight(220)
        self.metric = QComboBox()
        self.metric.currentIndexChanged.connect(self.redraw)
        row = QHBoxLayout()
        row.addWidget(QLabel("metric"))
        row.addWidget(self.metric, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.canvas)
        draw_sweep(self.figure, [], "dice_mean")
        self.canvas.draw_idle()

    def set_rows(
        self,
        rows: Sequence[Mapping[str, Any]],
        units: str = "",
        legend: Mapping[str, Any] | None = None,
        image: str = "",
    ) -> None:
        """Show a sweep's rows (from :func:`vqseg_core.robustness.level_sweep`); ``legend``:
        ``{key: MemberInfo}`` names and colours of the models; ``image``: its name (title).
        The metric choice lists the columns in words (:func:`metric_label`)."""
        self.rows, self.units, self.legend = list(rows), units, dict(legend or {})
        self.image = image
        names = sweep_metrics(self.rows)
        current = self.metric.currentData()
        blocked = self.metric.blockSignals(True)
        self.metric.clear()
        for name in names:
            self.metric.addItem(metric_label(name), name)
        choice = (
            current
            if current in names
            else next((m for m in PREFERRED if m in names), names[0] if names else "")
        )
        self.metric.setCurrentIndex(max(0, self.metric.findData(choice)))
        self.metric.blockSignals(blocked)
        self.redraw()

    def redraw(self, *_: Any) -> None:
        """Draw the chosen metric."""
        metric = self.metric.currentData() or "dice_mean"
        draw_sweep(self.figure, self.rows, metric, self.units, self.legend, self.image)
        self.canvas.draw_idle()
