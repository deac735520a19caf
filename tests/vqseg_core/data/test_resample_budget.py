"""Resampling targets checked against the memory budget before anything is allocated.

Before: a 64x64x8 NIfTI with 100 mm voxels made the ``ct`` recipe ask for a 27 GiB grid and
die with a ``MemoryError`` traceback. Now a ``MemoryBudgetError`` (a ``ValueError``) names the
recipe, the target shape and the budget; the case runs under an address-space limit so a
regression fails the test, not the machine.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pytest

from isolated import run_isolated
from vqseg_core.data.preprocess import RECIPES
from vqseg_core.data.resample import resize_image, resize_labels, shape_for_spacing
from vqseg_core.models.budget import MemoryBudgetError


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="address-space limit: Linux")
def test_a_nifti_with_100mm_voxels_is_refused_before_allocating(tmp_path: Path) -> None:
    nib = pytest.importorskip("nibabel")
    path = tmp_path / "coarse.nii.gz"
    affine = np.diag([100.0, 100.0, 100.0, 1.0])
    nib.save(nib.Nifti1Image(np.zeros((64, 64, 8), np.float32), affine), path)
    body = (
        "import resource\n"
        "resource.setrlimit(resource.RLIMIT_AS, (4 << 30, 4 << 30))\n"
        "from vqseg_core.io import load_image\n"
        "from vqseg_core.data.preprocess import RECIPES\n"
        "from vqseg_core.models.budget import MemoryBudgetError\n"
        f"image = load_image({str(path)!r})\n"
        "RECIPES['ct'].apply(image.array, image.spacing)\n"
    )
    outcome = run_isolated(body, expect="MemoryBudgetError", timeout=120)
    assert outcome.kind == "error", (outcome.kind, outcome.message[-800:])
    for words in ("recipe 'ct'", "(4267, 4267, 400)", "27.1 GiB", "memory budget", "VQSEG_MEMORY_BUDGET"):
        assert words in outcome.message, outcome.message


def test_the_budget_is_checked_by_the_recipe_and_the_resizers(monkeypatch) -> None:
    monkeypatch.setenv("VQSEG_MEMORY_BUDGET", "64M")
    with pytest.raises(MemoryBudgetError, match=r"\(1024, 1024, 100\)") as info:
        RECIPES["ct"].apply(np.zeros((64, 64, 10), np.float32), (24.0, 24.0, 20.0))
    assert info.value.budget == 64 * 2**20 and info.value.needed > info.value.budget
    with pytest.raises(MemoryBudgetError, match="resizing an image"):
        resize_image(np.zeros((4, 4, 4), np.float32), (2048, 2048, 8))
    with pytest.raises(MemoryBudgetError, match="resizing labels"):
        resize_labels(np.zeros((4, 4, 4), np.int64), (4096, 4096, 8))
    x, ctx = RECIPES["ct"].apply(np.zeros((64, 64, 10), np.float32), (1.5, 1.5, 2.0))
    assert x.shape == (64, 64, 10) and ctx.model_shape == (64, 64, 10)


@pytest.mark.parametrize(
    "spacing", [(float("inf"), 1.0, 1.0), (float("nan"), 1.0, 1.0), (1e300, 1.0, 1.0)]
)
def test_absurd_spacings_are_refused_with_a_value_error(spacing: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="spacing"):
        RECIPES["ct"].apply(np.zeros((8, 8, 4), np.float32), spacing)


def test_shape_for_spacing_refuses_non_finite_and_unbounded_grids() -> None:
    with pytest.raises(ValueError, match="positive and finite"):
        shape_for_spacing((4, 4), (1.0, float("inf")), (1.0, 1.0))
    with pytest.raises(ValueError, match="voxels per axis"):
        shape_for_spacing((4, 4), (1e9, 1.0), (1e-3, 1.0))
    assert shape_for_spacing((10, 10), (2.0, 1.0), (1.0, 1.0)) == (20, 10)
