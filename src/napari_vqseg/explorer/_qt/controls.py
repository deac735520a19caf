"""The explorer's input controls: layers, models (set, which to compare, reference, latent),
device, corruption, level, seed, draws."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from qtpy.QtCore import Qt, Signal
from qtpy.QtGui import QColor, QIcon, QPixmap
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSpinBox,
    QWidget,
)
from superqt import QLabeledDoubleSlider

from napari_vqseg.explorer.session import MAX_SHOWN, MIN_SHOWN
from napari_vqseg.explorer.settings import BOTTLENECK, FROM_FILES, ExplorerSettings

if TYPE_CHECKING:
    import napari

NO_GT = "(none)"
CPU_NOTICE = "Running on CPU: each update may take a second or more."
KEY_ROLE = Qt.ItemDataRole.UserRole
CHECKED = Qt.CheckState.Checked


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


@functools.cache
def set_modalities() -> dict[str, str]:
    """``{bundled set name: modality}`` from the registry (empty when it cannot be read); read
    once, since every run (each slider move) asks whether the set fits the image."""
    from vqseg_core.pretrained import list_sets, set_info

    try:
        return {name: set_info(name).modality for name in list_sets()}
    except Exception:  # a broken registry must not break the widget
        return {}


def image_fit(layer: Any, set_name: str) -> str | None:
    """Why the bundled set ``set_name`` cannot run on the image ``layer`` (``None``: it can, or
    the set is not bundled)."""
    from napari_vqseg.explorer.compat import guess_modality, incompatibility

    sets = set_modalities()
    if layer is None or set_name not in sets:
        return None
    modality = guess_modality(layer.ndim, layer.data, (layer.metadata or {}).get("modality"))
    return incompatibility(set_name, sets[set_name], layer.ndim, modality)


def bundled_sets() -> list[str]:
    """Names of the bundled model sets (empty when none ship); reads the registry only."""
    from vqseg_core.pretrained import list_sets

    try:
        return list(list_sets())
    except Exception:  # a broken registry must not break the widget
        return []


class ControlsPanel(QWidget):
    """A form whose every change emits :attr:`changed`; :meth:`settings` reads it back.

    Args:
        viewer: the viewer whose image and labels layers are offered.
        members: the models a settings' set offers (the session's
            :meth:`~napari_vqseg.explorer.session.ExplorerSession.members`).
    """

    changed = Signal()
    files_requested = Signal()

    def __init__(
        self,
        viewer: napari.Viewer,
        members: Callable[[ExplorerSettings], list[Any]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.viewer = viewer
        self._members = members or (lambda _settings: [])
        self._files: tuple[str, ...] = ()
        self._dims: int | None = None
        self._updating = False
        form = QFormLayout(self)
        self.image = QComboBox()
        self.gt = QComboBox()
        self.models = QComboBox()
        self.models.setToolTip("A bundled model set, or your own vqseg-train exports")
        self.files_button = QPushButton("Files...")
        self.files_button.setToolTip(
            "Choose vqseg-train exports (.json or .safetensors) or your own models (the "
            "vqseg-model .yaml beside a TorchScript, ONNX or MONAI file), several at once: with "
            "'From files...' they are the set; with a bundled set they are added to it"
        )
        self.models_label = QLabel()
        self.models_label.setWordWrap(True)
        self.compare = QListWidget()
        self.compare.setToolTip(f"The models to compare side by side ({MIN_SHOWN}-{MAX_SHOWN})")
        self.reference = QComboBox()
        self.reference.setToolTip("Disagreement layers show where a model differs from this one")
        self.latent = QComboBox()
        self.latent.setToolTip(
            "Which latent's maps are shown: the bottleneck, or a quantised skip connection"
        )
        self.latent.addItem(BOTTLENECK)
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
        models_row = QHBoxLayout()
        models_row.addWidget(self.models, 1)
        models_row.addWidget(self.files_button)
        level_row = QHBoxLayout()
        level_row.addWidget(self.level, 1)
        level_row.addWidget(self.units)
        form.addRow("image", self.image)
        form.addRow("ground truth", self.gt)
        form.addRow("models", models_row)
        form.addRow("", self.models_label)
        form.addRow("compare", self.compare)
        form.addRow("reference", self.reference)
        form.addRow("latent", self.latent)
        form.addRow("device", self.device)
        form.addRow("", self.device_notice)
        form.addRow("corruption", self.kind)
        form.addRow("level", level_row)
        form.addRow("seed", self.seed)
        form.addRow("draws", self.draws)
        form.addRow("", self.side_by_side)

        self.device.addItems(available_devices())
        self.models.addItems([*bundled_sets(), FROM_FILES])
        self.refresh_layers(event=True)
        self._on_device()
        self._fill_kinds()
        self.refresh_members()
        self.image.currentIndexChanged.connect(self._follow_image)  # before the change is sent
        for signal in (self.image.currentIndexChanged, self.gt.currentIndexChanged,
                       self.kind.currentIndexChanged, self.models.currentIndexChanged,
                       self.device.currentIndexChanged, self.level.valueChanged,
                       self.seed.valueChanged, self.draws.valueChanged,
                       self.side_by_side.toggled, self.reference.currentIndexChanged,
                       self.latent.currentIndexChanged, self.compare.itemChanged):  # fmt: skip
            signal.connect(self._emit)
        self.image.currentIndexChanged.connect(self._fill_kinds)
        self.kind.currentIndexChanged.connect(self._on_kind)
        self.device.currentIndexChanged.connect(self._on_device)
        self.models.currentIndexChanged.connect(self.refresh_members)
        self.compare.itemChanged.connect(self._fill_reference)
        self.files_button.clicked.connect(self.files_requested)
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
        items = [self.compare.item(i) for i in range(self.compare.count())]
        checked = tuple(it.data(KEY_ROLE) for it in items if it.checkState() == CHECKED)
        return ExplorerSettings(
            models=self.models.currentText(),
            model_files=self._files,
            keys=checked if items else None,
            reference=self.reference.currentData(),
            latent=self.latent.currentText() or BOTTLENECK,
            kind=self.kind.currentData() or "gaussian",
            level=self.level.value(),
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
            self._files = tuple(settings.model_files)
            if settings.models and self.models.findText(settings.models) < 0:
                self.models.insertItem(max(0, self.models.count() - 1), settings.models)
            _select(self.models, settings.models)
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
            self.refresh_members(keys=settings.keys, reference=settings.reference)
            self.set_latents([settings.latent])
            _select(self.latent, settings.latent)
        finally:
            self._updating = False
        self.changed.emit()

    def offer(self, name: str) -> None:
        """Add a set name to the models choice (a set offered in memory) and select it."""
        if self.models.findText(name) < 0:
            self.models.insertItem(max(0, self.models.count() - 1), name)
        self._files = ()
        _select(self.models, name)
        self.refresh_members()
        self._emit()

    def set_files(self, files: list[str] | tuple[str, ...]) -> None:
        """Use export files: the whole set with 'From files...', else added to the set."""
        self._files = tuple(str(f) for f in files)
        self.refresh_members()
        self._emit()

    def set_models_note(self, text: str) -> None:
        """A line under the models choice (what is loaded, or why not)."""
        self.models_label.setText(text)

    def set_latents(self, names: list[str] | tuple[str, ...]) -> None:
        """Offer these latents (besides the bottleneck) in the "latent" choice."""
        have = [self.latent.itemText(i) for i in range(self.latent.count())]
        blocked = self.latent.blockSignals(True)
        for name in names:
            if name not in have:
                self.latent.addItem(name)
                have.append(name)
        self.latent.blockSignals(blocked)

    def refresh_members(
        self, *_: Any, keys: tuple[str, ...] | None = None, reference: str | None = None
    ) -> None:
        """Re-list the models of the chosen set: ``keys`` checked (in that order), else the
        ones checked before, else the first six."""
        settings = self.settings()
        members = list(self._members(settings))
        before = {self.compare.item(i).data(KEY_ROLE): self.compare.item(i).checkState()
                  for i in range(self.compare.count())}  # fmt: skip
        self._update_note()
        if keys is None and [m.key for m in members] == list(before):
            return
        if keys is not None:  # the settings' order first
            rank = {k: i for i, k in enumerate(keys)}
            members.sort(key=lambda m: rank.get(m.key, len(rank)))
        blocked = self.compare.blockSignals(True)
        self.compare.clear()
        for i, m in enumerate(members):
            if keys is not None:
                on = m.key in keys
            else:
                on = before[m.key] == CHECKED if m.key in before else i < MAX_SHOWN
            item = QListWidgetItem(_swatch(m.colour), m.name)
            item.setData(KEY_ROLE, m.key)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(CHECKED if on else Qt.CheckState.Unchecked)
            self.compare.addItem(item)
        rows = min(MAX_SHOWN, max(MIN_SHOWN, len(members)))
        self.compare.setFixedHeight(rows * max(16, self.compare.sizeHintForRow(0)) + 6)
        self.compare.blockSignals(blocked)
        self._fill_reference(reference=reference or settings.reference)

    # ---- internals ------------------------------------------------------------------------
    def _fill_reference(self, *_: Any, reference: str | None = None) -> None:
        current = reference or self.reference.currentData()
        items = [self.compare.item(i) for i in range(self.compare.count())]
        chosen = [(it.data(KEY_ROLE), it.text()) for it in items if it.checkState() == CHECKED]
        blocked = self.reference.blockSignals(True)
        self.reference.clear()
        for key, name in chosen:
            self.reference.addItem(name, key)
        self.reference.setCurrentIndex(max(0, self.reference.findData(current)) if chosen else -1)
        self.reference.blockSignals(blocked)

    def _update_note(self) -> None:
        names = ", ".join(Path(f).name for f in self._files)
        if self.models.currentText() == FROM_FILES:
            self.set_models_note(names or "Choose vqseg-train exports with 'Files...' "
                                          "(several at once).")  # fmt: skip
        else:
            self.set_models_note(f"plus {names}" if names else "")

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
        before, gt_before = self.image.currentText(), self.gt.currentText()
        opened = getattr(event, "value", None)  # the layer a napari insert event brings
        blocked = self._updating
        self._updating = True
        try:
            _refill(self.image, images)
            _refill(self.gt, [NO_GT, *labels])
            if isinstance(opened, Image) and opened.name in images:
                _select(self.image, opened.name)  # a newly opened image is the one to analyse
            if event is not None and (
                self.image.currentText() != before or (self.gt.currentText() == NO_GT and labels)
            ):
                self._follow_image()
        finally:
            self._updating = blocked
        self._fill_kinds()
        changed = (self.image.currentText(), self.gt.currentText()) != (before, gt_before)
        if event is not None and changed and not blocked:
            self.changed.emit()  # a new image (or the image's own ground truth) starts a run

    def _follow_image(self, *_: Any) -> None:
        """Choose the chosen image's own ground truth (or none): never another case's mask."""
        from napari.layers import Image, Labels

        from napari_vqseg.explorer.layers import ROLE_KEY
        from napari_vqseg.explorer.matching import ground_truth_for

        layer = self.current_image_layer()
        if layer is None:
            return
        user = [lay for lay in self.viewer.layers if ROLE_KEY not in lay.metadata]
        labels = [(lay.name, lay.data.shape) for lay in user if isinstance(lay, Labels)]
        n_images = sum(isinstance(lay, Image) for lay in user)
        name = ground_truth_for(layer.name, layer.data.shape, labels, n_images)
        blocked, self._updating = self._updating, True
        try:
            _select(self.gt, name or NO_GT)
            self._follow_models(layer)
        finally:
            self._updating = blocked

    def _follow_models(self, layer: Any) -> None:
        """When the chosen bundled set does not fit the image, choose one that does."""
        from napari_vqseg.explorer.compat import default_set, guess_modality

        current = self.models.currentText()
        if current == FROM_FILES or image_fit(layer, current) is None:
            return
        modality = guess_modality(layer.ndim, layer.data, (layer.metadata or {}).get("modality"))
        name = default_set(set_modalities(), layer.ndim, modality, bundled_sets())
        if name is not None:
            _select(self.models, name)
            self.refresh_members()

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


def _swatch(colour: str) -> QIcon:
    pixmap = QPixmap(12, 12)
    pixmap.fill(QColor(colour))
    return QIcon(pixmap)


def _select(combo: QComboBox, text: str | None) -> None:
    if text is None:
        return
    index = combo.findText(text)
    if index >= 0:
        combo.setCurrentIndex(index)
