"""The "Replace NaN/Inf and run" button: shown while the chosen image holds NaN/Inf pixels the
user has not yet agreed to replace (:func:`~napari_vqseg.explorer.image_checks.checked_image`
with ``replace_nonfinite``); one click agrees for that layer's data and runs."""

from __future__ import annotations

from collections.abc import Hashable

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QPushButton, QWidget

from napari_vqseg.explorer.image_checks import REPLACE_BUTTON


class ReplaceOffer(QPushButton):
    """Offers the replacement of one image's non-finite pixels; remembers what was agreed to.

    Signals:
        agreed: the user agreed for the offered image (the explorer checks it again and runs).
    """

    agreed = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(REPLACE_BUTTON, parent)
        self.setToolTip("Put the image's smallest finite value in place of each NaN/Inf pixel "
                        "for the run; the layer itself is not changed")  # fmt: skip
        self._offered: Hashable | None = None
        self._agreed: set[Hashable] = set()
        self.setVisible(False)
        self.clicked.connect(self._agree)

    def agrees(self, image: Hashable) -> bool:
        """Whether the user agreed to replace the non-finite pixels of ``image`` (its key)."""
        return image in self._agreed

    def offer(self, image: Hashable | None) -> None:
        """Show the button for ``image`` (its key); ``None`` hides it."""
        self._offered = image
        self.setVisible(image is not None)

    def _agree(self) -> None:
        if self._offered is None:
            return
        self._agreed.add(self._offered)
        self.offer(None)
        self.agreed.emit()
