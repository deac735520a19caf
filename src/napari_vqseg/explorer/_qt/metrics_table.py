"""The live metrics table: one row per model, in its colour; Dice and HD95 per class, latents."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from qtpy.QtGui import QColor, QIcon, QPixmap
from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from napari_vqseg.explorer.report import latent_rows
from napari_vqseg.explorer.settings import BOTTLENECK
from vqseg_core.reporting import fmt


class MetricsTable(QTableWidget):
    """Rows: the compared models. Columns: Dice and HD95 of each annotated class (draw 0 against
    the ground truth; HD95 in ``view.hd95_units``), mean latent variance and code-flip rate of
    the chosen latent.

    :attr:`values` holds the numbers shown: ``{model key: {"dice_<class>", "hd95_<class>",
    "latent_variance", "flip_rate"}}``.
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
        classes = list(dict.fromkeys(c for mv in view.models.values() for c in (mv.scores or {})))
        units = view.hd95_units
        headers: list[tuple[str, str]] = []
        for c in classes:
            headers += [(f"Dice\n{c}", f"Dice of {c} against the ground truth (draw 0)"),
                        (f"HD95 {units}\n{c}", f"95th-percentile Hausdorff distance of {c}, {units}")]  # fmt: skip
        if not classes:
            headers.append(("Dice", "no ground truth: choose a labels layer to score against"))
        headers += [("latent\nvariance", f"mean variance of the {latent} latent across the draws"),
                    ("code\nflips", f"share of {latent} codes that differ from the clean image's")]  # fmt: skip
        latents = {r["model"]: r for r in latent_rows(view, latent, legend)}
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
            values: dict[str, float] = {}
            cells: list[str] = []
            for c in classes:
                s = (mv.scores or {}).get(c, {"dice": math.nan, "hd95": math.nan})
                values[f"dice_{c}"], values[f"hd95_{c}"] = s["dice"], s["hd95"]
                cells += [fmt(s["dice"]), fmt(s["hd95"], 1)]
            if not classes:
                cells.append("–")
            lat = latents[key]
            values["latent_variance"] = lat["latent_variance"]
            values["flip_rate"] = lat["flip_rate"]
            cells += [fmt(lat["latent_variance"], 4), fmt(lat["flip_rate"])]
            self.values[key] = values
            for col, text in enumerate(cells):
                self.setItem(row, col, QTableWidgetItem(text))


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(10, 10)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)
