"""The live metrics table: one row per model, in its colour; Dice and HD95 per class, latents."""

from __future__ import annotations

import math
from collections.abc import Mapping
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
        headers: list[tuple[str, str]] = []
        for c in classes:
            headers += [(f"Dice\n{c}", f"Dice of {c} against the ground truth (draw 0)"),
                        (f"HD95 {units}\n{c}", f"95th-percentile Hausdorff distance of {c}, {units}")]  # fmt: skip
        if not classes:
            ref_name = getattr((legend or {}).get(view.reference), "name", None) or view.reference
            headers.append((f"agrees with\n{ref_name}",
                            f"no ground truth: Dice of each model's mask against {ref_name}'s "
                            "(mean over its classes); low values: the models disagree"))  # fmt: skip
            headers.append(("agrees with\nclean image",
                            "no ground truth: Dice of each model's mask against its own mask of "
                            "the clean (uncorrupted) image, mean over its classes; 1 = the "
                            "corruption changed nothing"))  # fmt: skip
            what, size_units = getattr(view, "size_name", "area"), getattr(view, "size_units", "")
            for c in sized_classes(view):
                headers.append((f"{c}\n{what} {size_units}",
                                f"{what} of {c} in each model's mask, {size_units}"
                                + (" (the image gave no spacing)" if size_units in ("px", "voxels")
                                   else "")))  # fmt: skip
        headers += [("latent\nvariance", f"mean variance of the {latent} latent across the draws"),
                    ("code\nflips", f"share of {latent} codes that differ from the clean image's")]  # fmt: skip
        typical = getattr(view, "typicality", None) or {}
        if typical:
            headers.append(("typical\n(percentile)", "where this image's bottleneck features fall "
                            "among the training images' (above 99: unusual for this model, "
                            "results may be unreliable)"))  # fmt: skip
        values_of = model_values(view, latent, legend)
        state = getattr(view, "latent_state", "done")
        self.clear()
        self.setColumnCount(len(headers))
        self.setRowCount(len(view.models))
        for col, (text, tip) in enumerate(headers):
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
            cells: list[str] = []
            tips: list[str] = []
            for c in classes:
                cells += [_cell(values[f"dice_{c}"]), _cell(values[f"hd95_{c}"], 1)]
            if not classes:
                pending = state == "pending" and getattr(mv, "clean_labels", 0) is None
                cells += [_cell(values["agreement"]),
                          "…" if pending else _cell(values["clean_agreement"])]  # fmt: skip
                tips += ["", "comparing with the clean image..." if pending else ""]
                cells += [_size(values[size_column(view, c)]) for c in sized_classes(view)]
            cells += [_cell(values["latent_variance"], 4), _cell(values["flip_rate"])]
            tips = [*tips, *[""] * (len(cells) - len(tips))]
            if state in LATENT_CELLS:  # latents still running, or not computed while hidden
                cells[-2:] = [LATENT_CELLS[state][0]] * 2
                tips[-2:] = [LATENT_CELLS[state][1]] * 2
            if typical:
                t = typical.get(key)
                cells.append("–" if t is None else f"{t['percentile']:.0f}")
                tips.append("no reference for this model" if t is None else t["reading"])
            self.values[key] = {k: v for k, v in values.items() if k != "typicality_reading"}
            for col, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if text == NOT_AVAILABLE:
                    item.setToolTip("undefined for this run (e.g. a class absent from both "
                                    "masks, or a network without this latent)")  # fmt: skip
                if tips[col]:
                    item.setToolTip(tips[col])
                    if tips[col].startswith("unusual"):
                        item.setForeground(QColor("#ff6b6b"))
                self.setItem(row, col, item)


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
