"""The live metrics table: Dice and HD95 (mm) per class for both models, plus latent summaries."""

from __future__ import annotations

from typing import Any

from qtpy.QtWidgets import QAbstractItemView, QHeaderView, QTableWidget, QTableWidgetItem, QWidget

from napari_vqseg.explorer.report import fmt, latent_rows

COLUMNS = ("Dice UNet", "Dice VQ", "HD95 UNet", "HD95 VQ")


class MetricsTable(QTableWidget):
    """One row per class; then latent variance and code-flip rate rows."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(0, len(COLUMNS), parent)
        self.setHorizontalHeaderLabels(COLUMNS)
        self.setToolTip("Dice and HD95 (mm) per class of draw 0 against the ground truth")
        self.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.setMinimumHeight(120)
        self.values: dict[str, dict[str, float]] = {}

    def show_view(self, view: Any) -> None:
        """Fill the table from a :class:`~vqseg_core.robustness.RobustnessView`."""
        unet, vq = view.models["unet"].scores, view.models["vqunet"].scores
        rows: list[tuple[str, list[str]]] = []
        self.values = {}
        if unet is None or vq is None:
            rows.append(("(no ground truth)", ["–"] * 4))
        else:
            for name in unet:
                u, v = unet[name], vq.get(name, {"dice": float("nan"), "hd95": float("nan")})
                self.values[name] = {"dice_unet": u["dice"], "dice_vqunet": v["dice"],
                                     "hd95_unet": u["hd95"], "hd95_vqunet": v["hd95"]}  # fmt: skip
                rows.append(
                    (name, [fmt(u["dice"]), fmt(v["dice"]), fmt(u["hd95"], 2), fmt(v["hd95"], 2)])
                )
        latent = {r["model"]: r for r in latent_rows(view)}
        rows.append(("latent variance", [fmt(latent["unet"]["latent_variance"], 4),
                                         fmt(latent["vqunet"]["latent_variance"], 4), "", ""]))  # fmt: skip
        rows.append(("code-flip rate", ["", fmt(latent["vqunet"]["flip_rate"]), "", ""]))
        self.setRowCount(len(rows))
        self.setVerticalHeaderLabels([name for name, _ in rows])
        for r, (_, cells) in enumerate(rows):
            for c, text in enumerate(cells):
                self.setItem(r, c, QTableWidgetItem(text))
