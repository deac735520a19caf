"""Fixtures of the plugin tests: a disc image with its ground truth, and the explorer docked."""

from __future__ import annotations

import numpy as np
import pytest


def disc_image(size: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """A synthetic 2D image like the tiny pair's training data, and its labels (1 ring, 2 core)."""
    yy, xx = np.mgrid[:size, :size]
    c, r = size / 2, size * 0.22
    label = (((yy - c) ** 2 + (xx - c) ** 2) < r * r).astype(np.uint8)
    label[(np.abs(yy - c) < r / 3) & (np.abs(xx - c) < r / 3)] = 2
    rng = np.random.default_rng(1)
    image = 0.2 + 0.3 * (label > 0) + 0.3 * (label == 2) + 0.03 * rng.normal(size=label.shape)
    return np.clip(image, 0, 1).astype(np.float32), label


@pytest.fixture(scope="session")
def disc():
    """``(image, labels)`` of :func:`disc_image`."""
    return disc_image()


@pytest.fixture
def explorer(make_napari_viewer, tiny_pair, qtbot):
    """A viewer with a disc image (scale 0.5 mm) and its ground truth, the explorer docked with
    the tiny pair selected, and the first result shown."""
    viewer = make_napari_viewer()
    image, label = disc_image()
    viewer.add_image(image, name="discs", scale=(0.5, 0.5))
    viewer.add_labels(label, name="discs gt", scale=(0.5, 0.5))
    from napari_vqseg.explorer._qt.widget import RobustnessExplorer

    widget = RobustnessExplorer(viewer)
    viewer.window.add_dock_widget(widget, name="Robustness Explorer")
    widget.controls.draws.setValue(3)
    widget.add_pair(tiny_pair)
    qtbot.waitUntil(lambda: widget.view is not None and not widget.busy, timeout=30000)
    yield widget
    widget.shutdown()
    qtbot.waitUntil(lambda: not widget._workers, timeout=10000)
