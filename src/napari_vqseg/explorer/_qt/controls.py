"""The explorer's input controls: layers, pair, device, corruption, level, seed, draws."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSpinBox,
    QWidget,
)
from superqt import QLabeledDoubleSlider

from napari_vqseg.explorer.state import FROM_FILES, ExplorerSettings

if TYPE_CHECKING:
    import napari

NO_GT = "(none)"
CPU_NOTICE = "Running on CPU: each update may take a second or more."


def available_devices() -> list[str]:
    """CUDA and MPS when torch sees them, then CPU.

    torch is imported only where an accelerator may exist (an NVIDIA device node, or an Apple
    silicon Mac): on a CPU-only machine opening the explorer costs no torch import (about 1.3 s
    here, benchmark B6); the first inference pays it in a worker thread instead.
    """
    if not _may_have_accelerator():
        return ["cpu"]
    try:
        import torch
    except ImportError:
        return ["cpu"]
    devices = []
    if torch.cuda.is_available():
        devices.append("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        devices.append("mps")
    return [*devices, "cpu"]


def _may_have_accelerator() -> bool:
    import platform
    from pathlib import Path

    if sys.modules.get("torch") is not None:  # already paid for: ask torch
        return True
    if platform.system() == "Darwin" and platform.machine() == "arm64":
        return True
    if os.environ.get("CUDA_VISIBLE_DEVICES", None) in ("", "-1"):
        return False
    return Path("/dev/nvidiactl").exists() or any(Path("/dev").glob("nvidia[0-9]*"))


def bundled_pairs() -> list[str]:
    """Names of the bundled model pairs (empty when none ship yet); reads the registry only."""
    from vqseg_core.pretrained.registry import list_pairs

    try:
        return list(list_pairs())
    except Exception:  # a broken registry must not break the widget
        return []


class ControlsPanel(QWidget):
    """A form whose every change emits :attr:`changed`; :meth:`settings` reads it back."""

    changed = Signal()
    pair_files_requested = Signal()

    def __init__(self, viewer: napari.Viewer, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self._pair_files: tuple[str, str] | None = None
        self._dims: int | None = None
        self._updating = False
        form = QFormLayout(self)
        self.image = QComboBox()
        self.gt = QComboBox()
        self.pair = QComboBox()
        self.pair_button = QPushButton("Choose files...")
        self.pair_label = QLabel()
        self.pair_label.setWordWrap(True)
        self.device = QComboBox()
        self.device_notice = QLabel(CPU_NOTICE)
        self.device_notice.setStyleSheet("color: #ffb74d")
        self.device_notice.setWordWrap(True)
        self.kind = QComboBox()
        self.level = QLabeledDoubleSlider(Qt.Orientation.Horizontal)
        self.units = QLabel()
        self.seed = QSpinBox()
        self.seed.setRange(0, 2**31 - 1)
        self.draws = QSpinBox()
        self.draws.setRange(1, 64)
        self.draws.setValue(4)
        self.side_by_side = QCheckBox("side by side (grid, linked cameras)")
        self.side_by_side.setChecked(True)
        pair_row = QHBoxLayout()
        pair_row.addWidget(self.pair, 1)
        pair_row.addWidget(self.pair_button)
        level_row = QHBoxLayout()
        level_row.addWidget(self.level, 1)
        level_row.addWidget(self.units)
        form.addRow("image", self.image)
        form.addRow("ground truth", self.gt)
        form.addRow("model pair", pair_row)
        form.addRow("", self.pair_label)
        form.addRow("device", self.device)
        form.addRow("", self.device_notice)
        form.addRow("corruption", self.kind)
        form.addRow("level", level_row)
        form.addRow("seed", self.seed)
        form.addRow("draws", self.draws)
        form.addRow("", self.side_by_side)

        self.device.addItems(available_devices())
        self.pair.addItems([*bundled_pairs(), FROM_FILES])
        self.refresh_layers(event=True)
        self._on_device()
        self._update_pair_button()
        self._fill_kinds()
        for signal in (self.image.currentIndexChanged, self.gt.currentIndexChanged,
                       self.kind.currentIndexChanged, self.pair.currentIndexChanged,
                       self.device.currentIndexChanged, self.level.valueChanged,
                       self.seed.valueChanged, self.draws.valueChanged,
                       self.side_by_side.toggled):  # fmt: skip
            signal.connect(self._emit)
        self.image.currentIndexChanged.connect(self._fill_kinds)
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.device.currentIndexChanged.connect(self._on_device)
        self.pair.currentIndexChanged.connect(self._update_pair_button)
        self.pair_button.clicked.connect(self.pair_files_requested)
        viewer.layers.events.inserted.connect(self.refresh_layers)
        viewer.layers.events.removed.connect(self.refresh_layers)

    def disconnect_viewer(self) -> None:
        """Stop listening to the viewer (on close)."""
        for event in (self.viewer.layers.events.inserted, self.viewer.layers.events.removed):
            event.disconnect(self.refresh_layers)

    # ---- reading and writing the form ------------------------------------------------------
    def settings(self) -> ExplorerSettings:
        """The current choices."""
        gt = self.gt.currentText()
        return ExplorerSettings(
            pair=self.pair.currentText(),
            pair_files=self._pair_files if self.pair.currentText() == FROM_FILES else None,
            kind=self.kind.currentData() or "gaussian",
            level=round(float(self.level.value()), 4),
            seed=self.seed.value(),
            n_draws=self.draws.value(),
            device=self.device.currentText() or "cpu",
            image_layer=self.image.currentText() or None,
            gt_layer=None if gt in ("", NO_GT) else gt,
            side_by_side=self.side_by_side.isChecked(),
        )

    def apply(self, settings: ExplorerSettings) -> None:
        """Set every control from ``settings`` (one :attr:`changed` signal at the end)."""
        self._updating = True
        try:
            if settings.pair_files:
                self._pair_files = tuple(settings.pair_files)  # type: ignore[assignment]
            _select(self.pair, settings.pair)
            if settings.image_layer:
                _select(self.image, settings.image_layer)
            _select(self.gt, settings.gt_layer or NO_GT)
            _select(self.device, settings.device)
            self._fill_kinds()
            index = self.kind.findData(settings.kind)
            if index >= 0:
                self.kind.setCurrentIndex(index)
            self._on_kind()
            self.level.setValue(settings.level)
            self.seed.setValue(settings.seed)
            self.draws.setValue(settings.n_draws)
            self.side_by_side.setChecked(settings.side_by_side)
            self._update_pair_button()
        finally:
            self._updating = False
        self.changed.emit()

    def set_pair_files(self, unet: str, vqunet: str) -> None:
        """Use two user exports as the pair."""
        self._pair_files = (str(unet), str(vqunet))
        _select(self.pair, FROM_FILES)
        self._update_pair_button()
        self._emit()

    def set_pair_note(self, text: str) -> None:
        """A line under the pair choice (what is loaded, or why not)."""
        self.pair_label.setText(text)

    # ---- internals ------------------------------------------------------------------------
    def refresh_layers(self, event: Any = None) -> None:
        """Re-list the viewer's image and labels layers (the explorer's own are left out)."""
        from napari.layers import Image, Labels

        from napari_vqseg.explorer.layers import ROLE_KEY

        layers = [lay for lay in self.viewer.layers if ROLE_KEY not in lay.metadata]
        images = [
            lay.name
            for lay in layers
            if isinstance(lay, Image) and lay.ndim in (2, 3) and not lay.rgb
        ]
        labels = [lay.name for lay in layers if isinstance(lay, Labels)]
        blocked = self._updating
        self._updating = True
        try:
            _refill(self.image, images)
            _refill(self.gt, [NO_GT, *labels])
            if self.gt.currentText() == NO_GT and labels and event is not None:
                _select(self.gt, labels[-1])
        finally:
            self._updating = blocked
        self._fill_kinds()

    def _fill_kinds(self) -> None:
        from vqseg_core.perturb import list_corruptions

        layer = self.current_image_layer()
        dims = int(layer.ndim) if layer is not None else 2
        if dims == self._dims and self.kind.count():
            return
        self._dims = dims
        current = self.kind.currentData()
        blocked = self._updating
        self._updating = True
        try:
            self.kind.clear()
            for spec in list_corruptions(dims if dims in (2, 3) else None):
                self.kind.addItem(spec.label, spec.name)
            index = self.kind.findData(current)
            self.kind.setCurrentIndex(max(0, index))
            self._on_kind()
        finally:
            self._updating = blocked

    def _on_kind(self) -> None:
        from vqseg_core.perturb import get_spec

        name = self.kind.currentData()
        if not name:
            return
        spec = get_spec(name)
        if (self.level.minimum(), self.level.maximum()) == (
            spec.minimum,
            spec.maximum,
        ) and self._updating:
            return
        blocked = self.level.blockSignals(True)
        self.level.setRange(spec.minimum, spec.maximum)
        self.level.setSingleStep((spec.maximum - spec.minimum) / 100)
        self.level.setValue(spec.default)
        self.level.blockSignals(blocked)
        self.units.setText(spec.units)
        self.kind.setToolTip(spec.description)

    def _on_device(self) -> None:
        self.device_notice.setVisible(self.device.currentText() == "cpu")

    def _update_pair_button(self) -> None:
        files = self.pair.currentText() == FROM_FILES
        self.pair_button.setEnabled(files)
        if files:
            self.set_pair_note(
                "UNet: {}\nVQ-UNet: {}".format(*self._pair_files) if self._pair_files
                else "Choose a UNet export and a VQ-UNet export (.json or .safetensors)."
            )  # fmt: skip

    def current_image_layer(self) -> Any | None:
        """The chosen image layer, or ``None``."""
        name = self.image.currentText()
        return self.viewer.layers[name] if name and name in self.viewer.layers else None

    def current_gt_layer(self) -> Any | None:
        """The chosen ground-truth layer, or ``None``."""
        name = self.gt.currentText()
        if name in ("", NO_GT) or name not in self.viewer.layers:
            return None
        return self.viewer.layers[name]

    def _emit(self, *_: Any) -> None:
        if not self._updating:
            self.changed.emit()


def _refill(combo: QComboBox, items: list[str]) -> None:
    current = combo.currentText()
    if [combo.itemText(i) for i in range(combo.count())] == items:
        return
    combo.clear()
    combo.addItems(items)
    if current in items:
        combo.setCurrentIndex(items.index(current))


def _select(combo: QComboBox, text: str | None) -> None:
    if text is None:
        return
    index = combo.findText(text)
    if index >= 0:
        combo.setCurrentIndex(index)
