"""A windowed 3D network on a volume: the engine yields a preview of the focus slice first, then
the exact labels, which equal a run without preview."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from vqseg_core.engine import PartialLabels, RunRequest, execute, iter_execute
from vqseg_core.perturb import Corruption


@pytest.fixture(scope="module")
def windowed_set():
    """Two untrained 3D networks whose (8, 8, 16) window covers the focus from every axial
    start: the exact focus slice needs every window."""
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
                              {1: "a", 2: "b"}, RECIPES["brain_mri"], patch_size=(8, 8, 16)))  # fmt: skip
    return ModelSet("windowed-3d", tuple(members))


def _drain(gen):
    steps = []
    while True:
        try:
            steps.append(next(gen))
        except StopIteration as stop:
            return steps, stop.value


def test_a_preview_comes_first_and_the_final_labels_do_not_change(windowed_set) -> None:
    rng = np.random.default_rng(0)
    image = (100 + 50 * rng.random((26, 18, 20))).astype(np.float32)
    focus = 9
    request = RunRequest(windowed_set, image, (1.0, 1.0, 1.0), Corruption("gaussian", 5.0, 0), 2,
                         "cpu", "fp32", focus, latents=False)  # fmt: skip
    steps, run = _drain(iter_execute(request))
    partials = [s for s in steps if isinstance(s, PartialLabels)]
    assert [(p.model, p.preview) for p in partials[:2]] == [("unet", True), ("vqunet", True)]
    assert all(not p.preview for p in partials[2:])
    for p in partials[:2]:
        a, b = p.z_range
        assert a <= focus < b and p.labels.shape == image.shape
        assert not p.labels[..., :a].any() and not p.labels[..., b:].any()
    plain = execute(request)  # no preview: the exact labels alone
    for key in run.keys:
        np.testing.assert_array_equal(run.models[key].labels, plain.models[key].labels)
    # and without a preview asked for, no preview step comes
    steps, again = _drain(iter_execute(request, preview=False))
    assert not any(getattr(s, "preview", False) for s in steps)
    for key in run.keys:
        np.testing.assert_array_equal(again.models[key].labels, run.models[key].labels)
