"""The class legend under the explorer's status line: class colours with human names and, on
a stacked canvas, each model's mask colour (text from :mod:`napari_vqseg.explorer.legend`)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qtpy.QtCore import Qt
from qtpy.QtWidgets import QLabel, QWidget

from napari_vqseg.explorer.legend import legend_entries, legend_html


class ClassLegend(QLabel):
    """A rich-text label; hidden while there is no set with named classes."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.TextFormat.RichText)
        self.setToolTip("Colours of the masks and ground-truth outlines; the classes' meaning")
        self.setVisible(False)

    def show_legend(
        self,
        set_name: str,
        classes: Mapping[int, str],
        models: Sequence[tuple[str, str]] = (),
        stacked: bool = False,
    ) -> None:
        """Show the legend of ``classes`` (``models``: display name and colour, panel order)."""
        text = legend_html(legend_entries(set_name, classes), models, stacked)
        if text != self.text():
            self.setText(text)
        self.setVisible(bool(text))

    def sync(self, session: Any, layers: Any, stacked: bool) -> None:
        """Give ``layers`` (:class:`~napari_vqseg.explorer.layers.ExplorerLayers`) the classes
        of the set on screen (the one that ran, else the loaded one) and show its legend."""
        models = session.shown_set() or session.loaded()
        classes = dict(getattr(models, "classes", None) or {})
        layers.classes = classes
        legend = session.shown_legend()
        shown = [(legend[k].name, legend[k].colour) for k in layers.keys if k in legend]
        self.show_legend(getattr(models, "name", ""), classes, shown, stacked)
