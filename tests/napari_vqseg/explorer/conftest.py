"""Fixtures of the explorer tests: a three-model set made from the tiny pair (no training)."""

from __future__ import annotations

import dataclasses

import pytest


@pytest.fixture(scope="session")
def tiny_trio(tiny_pair):
    """The tiny pair plus a copy of its VQ-UNet under another key, name and colour."""
    from vqseg_core.modelset import PALETTE, ModelSet

    vq = tiny_pair.member("vqunet")
    copy = dataclasses.replace(vq, key="vqcopy", name="VQ copy", colour=PALETTE[2])
    return ModelSet("tiny-trio", (*tiny_pair.members, copy))


@pytest.fixture(scope="session")
def untrained_3d_set():
    """A 3D UNet / VQ-UNet set with random weights and an (8, 8, 8) sliding window."""
    import torch

    from vqseg_core.data.preprocess import RECIPES
    from vqseg_core.models import ModelConfig, build_model
    from vqseg_core.modelset import ModelSet
    from vqseg_core.modelset.member import Member

    torch.manual_seed(0)
    members = []
    for i, (kind, name) in enumerate((("unet", "UNet"), ("vqunet", "VQ-UNet"))):
        model = build_model(ModelConfig(kind=kind, spatial_dims=3, out_channels=3, channels=(4, 8),
                                        norm_groups=2, codebook_size=16, codebook_dim=8)).eval()  # fmt: skip
        members.append(Member(kind, name, kind, ("#ff8c42", "#4fc3f7")[i], model, "0",
                              {1: "a", 2: "b"}, RECIPES["brain_mri"], patch_size=(8, 8, 8)))  # fmt: skip
    return ModelSet("untrained-3d", tuple(members))


@pytest.fixture(scope="session")
def run_job():
    """Run a job's work in this thread, as a worker would; returns its outcome."""
    return _run_job


def _run_job(job):
    out = job.work()
    if not isinstance(out, tuple):  # a generator (an analysis): drain it
        try:
            while True:
                next(out)
        except StopIteration as stop:
            return stop.value
    return out



@pytest.fixture
def explorer3(make_napari_viewer, tiny_trio, disc, qtbot):
    """A viewer with a disc image (scale 0.5 mm) and its ground truth, the explorer docked with
    the three-model set selected, and the first result shown."""
    from napari_vqseg.explorer._qt.widget import RobustnessExplorer

    viewer = make_napari_viewer()
    viewer.add_image(disc[0], name="discs", scale=(0.5, 0.5))
    viewer.add_labels(disc[1], name="discs gt", scale=(0.5, 0.5))
    widget = RobustnessExplorer(viewer)
    viewer.window.add_dock_widget(widget, name="Robustness Explorer")
    widget.controls.draws.setValue(2)
    widget.add_set(tiny_trio)
    qtbot.waitUntil(lambda: widget.view is not None and not widget.busy, timeout=60000)
    yield widget
    widget.shutdown()
    qtbot.waitUntil(lambda: not widget._workers, timeout=10000)
