"""Model pairs from vqseg-train exports: loading, predict on the input's own grid."""

from __future__ import annotations

import numpy as np
import pytest

from vqseg_core.checkpoint import CheckpointError
from vqseg_core.pretrained import list_pairs, load_pair, load_pair_from_files


def test_pair_predicts_on_the_inputs_own_grid(tiny_pair) -> None:
    assert tiny_pair.classes == {1: "ring", 2: "core"}
    assert tiny_pair.spatial_dims == 2
    yy, xx = np.mgrid[:90, :70]
    image = 100.0 + 80.0 * (((yy - 45) ** 2 + (xx - 35) ** 2) < 400)
    masks = tiny_pair.predict(image, spacing=(0.5, 0.5), device="cpu")
    assert set(masks) == {"unet", "vqunet"}
    for labels in masks.values():
        assert labels.shape == image.shape
        assert set(np.unique(labels)) <= {0, 1, 2}
    # the tiny models learned something: the disc is found, the corners are background
    for labels in masks.values():
        assert labels[45, 35] > 0 and labels[0, 0] == 0


def test_pair_rejects_wrong_dimensionality(tiny_pair) -> None:
    with pytest.raises(ValueError, match="2D"):
        tiny_pair.predict(np.zeros((8, 8, 8)))


def test_swapped_or_corrupt_files_are_refused(tiny_pair_files, tmp_path) -> None:
    with pytest.raises(ValueError, match="UNet and a VQ-UNet"):
        load_pair_from_files(tiny_pair_files["vqunet"], tiny_pair_files["unet"])
    bad = tmp_path / "bad.json"
    bad.write_text("{", encoding="utf-8")
    with pytest.raises(CheckpointError):
        load_pair_from_files(bad, tiny_pair_files["vqunet"])


def test_unknown_bundled_name_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="bundled sets"):
        load_pair("no-such-pair")
    assert isinstance(list_pairs(), list)
