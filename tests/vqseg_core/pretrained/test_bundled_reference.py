"""The bundled sets give the labels, Dice and HD95 they gave before the model-set / engine
refactor, bit for bit.

``tests/data/bundled_reference.npz`` holds the labels of each bundled pair on its bundled
sample (clean and at 10 % Gaussian noise, seed 0, 2 draws, float32 on the CPU) computed with
the code before the refactor (commit e32ae52, ``robustness.analyse``), and
``bundled_reference.json`` their scores. On a CPU with the same kernels (the recorded
``cpu_capability``) and the same torch minor version (``torch``: kernels change between
releases; ``make test-min`` runs the lowest supported torch) labels must be identical; elsewhere
float32 kernels may round differently at a handful of boundary pixels, so at most 0.01 % may
differ.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch

from vqseg_core.data.samples import get_sample
from vqseg_core.io import load_image
from vqseg_core.pretrained import load_pair
from vqseg_core.robustness import analyse

DATA = Path(__file__).parents[2] / "data"
CASES = (("chest-xray", "chest-xray"), ("ct-slab", "ct-organs"), ("brain-mri", "brain-mri"))


@pytest.fixture(scope="module")
def reference() -> tuple[dict[str, np.ndarray], dict]:
    labels = np.load(DATA / "bundled_reference.npz")
    meta = json.loads((DATA / "bundled_reference.json").read_text(encoding="utf-8"))
    return {k: labels[k] for k in labels.files}, meta


@pytest.mark.slow
@pytest.mark.parametrize(("sample", "set_name"), CASES)
def test_bundled_labels_and_scores_unchanged(reference, sample, set_name) -> None:
    labels, meta = reference
    same_kernels = torch.backends.cpu.get_cpu_capability() == meta["cpu_capability"] and (
        ".".join(torch.__version__.split(".")[:2]) == meta["torch"]
    )
    s = get_sample(sample)
    image = load_image(s.image)
    gt = load_image(s.labels).array.astype(np.int64)
    models = load_pair(set_name)
    focus = image.array.shape[-1] // 2 if image.array.ndim == 3 else None
    for level in (0.0, 10.0):
        view = analyse(models, image.array, image.spacing, kind="gaussian", level=level, seed=0,
                       n_draws=2, ground_truth=gt, device="cpu", precision="fp32", focus=focus)  # fmt: skip
        for key, mv in view.models.items():
            tag = f"{sample}|gaussian{level:g}|{key}"
            differ = int((mv.labels != labels[tag]).sum())
            if same_kernels:
                assert differ == 0, tag
                for name, s in meta[tag]["scores"].items():
                    assert mv.scores[name]["dice"] == pytest.approx(s["dice"], abs=1e-12, nan_ok=True)
                    assert mv.scores[name]["hd95"] == pytest.approx(s["hd95"], abs=1e-9, nan_ok=True)
            else:
                assert differ <= 1e-4 * mv.labels.size, tag
