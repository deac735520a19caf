"""The live metrics table: one row per model, in its colour; Dice and HD95 per class, latents."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

from qtpy.QtGui import QColor, QIcon, QPixmap
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from napari_vqseg.explorer.report import model_values, scored_classes, size_column, sized_classes
from napari_vqseg.explorer.settings import BOTTLENECK
from vqseg_core.reporting import fmt


class MetricsTable(QTableWidget):
    """Rows: the compared models. Columns: Dice and HD95 of each annotated class (draw 0 against
    the ground truth; HD95 in ``view.hd95_units``), mean latent variance and code-flip rate of
    the chosen latent.

    Without a ground truth, the scores give way to answers that need none: each model's
    agreement with the reference model (Dice of the masks), with its own mask of the clean
    image (Dice; "…" while it is computed), and the area (2D) or volume of each class in the
    image's units (mm² / mL, or px / voxels when the spacing is unknown). With a typicality
    reference (bundled sets), the image's percentile among the training images is shown, red
    when unusual.

    :attr:`values` holds the numbers shown: ``{model key: {"dice_<class>", "hd95_<class>"
    (or "agreement", "clean_agreement", "area_<class>" / "volume_<class>"),
    "latent_variance", "flip_rate", "typicality_percentile"}}``.
    """

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, 0, parent)
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.ResizeToContents)
        self.horizontalHeader().setStretchLastSection(True)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMinimumHeight(110)
        self.values: dict[str, dict[str, float]] = {}

    def empty(self) -> None:
        """No rows, no columns, no values (nothing on screen belongs to the image chosen)."""
        self.clear()
        self.setRowCount(0)
        self.setColumnCount(0)
        self.values = {}

    def show_view(
        self, view: Any, legend: Mapping[str, Any] | None = None, latent: str = BOTTLENECK
    ) -> None:
        """Fill the table from a :class:`~vqseg_core.robustness.RobustnessView`.

        Args:
            view: the view (rows in its model order).
            legend: ``{key: MemberInfo}`` display names and colours (default: the view's).
            latent: the latent whose variance and flip rate are shown.
        """
        classes = scored_classes(view)
        units = view.hd95_units
        values_of = model_values(view, latent, legend)
        state = getattr(view, "latent_state", "done")
        typical = getattr(view, "typicality", None) or {}
        columns: list[tuple[str, str, Cell]] = []

        def value(name: str, digits: int = 3) -> Cell:
            return lambda key, mv: (_cell(values_of[key][name], digits), "")

        for c in classes:
            columns += [(f"Dice\n{c}", f"Dice of {c} against the ground truth (draw 0)",
                         value(f"dice_{c}")),
                        (f"HD95 {units}\n{c}", f"95th-percentile Hausdorff distance of {c}, {units}",
                         value(f"hd95_{c}", 1))]  # fmt: skip
        if not classes:
            ref_name = getattr((legend or {}).get(view.reference), "name", None) or view.reference
            columns.append((f"agrees with\n{ref_name}",
                            f"no ground truth: Dice of each model's mask against {ref_name}'s "
                            "(mean over its classes); low values: the models disagree",
                            value("agreement")))  # fmt: skip
            columns.append(("agrees with\nclean image",
                            "no ground truth: Dice of each model's mask against its own mask of "
                            "the clean (uncorrupted) image, mean over its classes; 1 = the "
                            "corruption changed nothing", _clean_cell(values_of, state)))  # fmt: skip
        if typical and not classes:  # the image's own reading next to the answers without GT
            columns.append(_typical_column(typical))
        if not classes:
            what, size_units = getattr(view, "size_name", "area"), getattr(view, "size_units", "")
            unknown = " (the image gave no spacing)" if size_units in ("px", "voxels") else ""
            for c in sized_classes(view):
                columns.append((f"{c}\n{what} {size_units}",
                                f"{what} of {c} in each model's mask, {size_units}{unknown}",
                                _size_cell(values_of, size_column(view, c))))  # fmt: skip
        for name, head, tip, digits in (
            ("latent_variance", "latent\nvariance",
             f"mean variance of the {latent} latent across the draws", 4),
            ("flip_rate", "code\nflips", f"share of {latent} codes that differ from the clean image's", 3),
        ):  # fmt: skip
            cell = value(name, digits)
            if state in LATENT_CELLS:  # latents still running, or not computed while hidden
                cell = _fixed(*LATENT_CELLS[state])
            columns.append((head, tip, cell))
        if typical and classes:
            columns.append(_typical_column(typical))
        self.clear()
        self.setColumnCount(len(columns))
        self.setRowCount(len(view.models))
        for col, (text, tip, _) in enumerate(columns):
            item = QTableWidgetItem(text)
            item.setToolTip(tip)
            self.setHorizontalHeaderItem(col, item)
        self.values = {}
        for row, (key, mv) in enumerate(view.models.items()):
            info = (legend or {}).get(key)
            name = getattr(info, "name", None) or mv.name or key
            colour = getattr(info, "colour", None) or mv.colour or "#f0f1f2"
            head = QTableWidgetItem(_swatch(colour), name)
            head.setForeground(QColor(colour))
            head.setToolTip(f"{name} ({key})" + ("; reference" if key == view.reference else ""))
            self.setVerticalHeaderItem(row, head)
            values = values_of[key]
            self.values[key] = {k: v for k, v in values.items() if k != "typicality_reading"}
            for col, (_, _, cell) in enumerate(columns):
                text, tip = cell(key, mv)
                item = QTableWidgetItem(text)
                if text == NOT_AVAILABLE:
                    item.setToolTip("undefined for this run (e.g. a class absent from both "
                                    "masks, or a network without this latent)")  # fmt: skip
                if tip:
                    item.setToolTip(tip)
                    if tip.startswith("unusual"):
                        item.setForeground(QColor("#ff6b6b"))
                self.setItem(row, col, item)


Cell = Callable[[str, Any], tuple[str, str]]
"""A column's cell of one model (key, model view): its text and tooltip."""


def _typical_column(typical: Mapping[str, Any]) -> tuple[str, str, Cell]:
    def cell(key: str, _mv: Any) -> tuple[str, str]:
        t = typical.get(key)
        if t is None:
            return "–", "no reference for this model"
        return f"{t['percentile']:.0f}", t["reading"]

    return ("typical\n(percentile)", "where this image's bottleneck features fall among the "
            "training images' (above 99: unusual for this model, results may be unreliable)", cell)  # fmt: skip


def _clean_cell(values_of: Mapping[str, Any], state: str) -> Cell:
    def cell(key: str, mv: Any) -> tuple[str, str]:
        if state == "pending" and getattr(mv, "clean_labels", 0) is None:
            return "…", "comparing with the clean image..."
        return _cell(values_of[key]["clean_agreement"]), ""

    return cell


def _size_cell(values_of: Mapping[str, Any], column: str) -> Cell:
    return lambda key, _mv: (_size(values_of[key][column]), "")


def _fixed(text: str, tip: str) -> Cell:
    return lambda _key, _mv: (text, tip)


LATENT_CELLS = {
    "pending": ("…", "computing latents..."),
    "skipped": ("hidden", "not computed while the latent layers are hidden (show one)"),
}
"""Latent cells of a view without its latent maps: text and tooltip by ``latent_state``."""
NOT_AVAILABLE = "n/a"
"""What a cell shows for an undefined value (``nan``), never 0."""


def _cell(value: float, digits: int = 3) -> str:
    return NOT_AVAILABLE if value is None or math.isnan(value) else fmt(value, digits)


def _size(value: float) -> str:
    if value is None or math.isnan(value):
        return NOT_AVAILABLE
    return f"{value:.0f}" if abs(value) >= 100 else fmt(value, 3)


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(10, 10)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)
