"""Bundled samples open as an image plus its ground truth."""

from __future__ import annotations

import numpy as np
import pytest

from napari_vqseg._sample_data import list_samples, load_sample


def test_samples_are_listed() -> None:
    assert "chest-xray" in list_samples()


@pytest.mark.parametrize("name", ["chest-xray", "ct-slab"])
def test_sample_opens_as_image_and_ground_truth(name) -> None:
    (image, ikw, ikind), (labels, lkw, lkind) = load_sample(name)
    assert (ikind, lkind) == ("image", "labels")
    assert image.shape == labels.shape and np.issubdtype(labels.dtype, np.integer)
    assert ikw["scale"] == lkw["scale"] and lkw["metadata"]["label_names"]


def test_unlabelled_sample_has_one_layer() -> None:
    assert [kind for _, _, kind in load_sample("chest-xray-cr")] == ["image"]
