"""The bundled samples: loadable, labels on the image grid, small, each with its licence."""

from __future__ import annotations

import numpy as np
import pytest

from vqseg_core.data.samples import get_sample, list_samples, sample_path, samples_dir
from vqseg_core.io import load_image

EXPECTED = {"chest-xray", "chest-xray-cr", "ct-slab", "brain-mri"}


def test_registry_lists_the_four_samples() -> None:
    assert set(list_samples()) == EXPECTED


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_sample_loads_with_labels_on_its_grid(name: str) -> None:
    sample = get_sample(name)
    image = load_image(sample.image)
    assert image.array.ndim == sample.spatial_dims
    if sample.spacing is not None:
        assert image.spacing == pytest.approx(sample.spacing)
    if sample.labels is None:
        assert sample.label_names == {}
        return
    labels = load_image(sample.labels)
    assert labels.shape == image.shape
    values = set(np.unique(labels.array).astype(int).tolist())
    assert values <= {0, *sample.label_names}
    assert values - {0}, "labels hold no foreground"


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_sample_has_its_licence_and_attribution(name: str) -> None:
    sample = get_sample(name)
    assert sample.licence_file.is_file() and sample.licence_file.parent == sample.image.parent
    assert len(sample.licence_file.read_text(encoding="utf-8")) > 200
    assert sample.attribution and sample.licence


def test_samples_stay_small_and_ship_no_jsrt() -> None:
    files = [p for p in samples_dir().rglob("*") if p.is_file()]
    assert sum(p.stat().st_size for p in files) < 5_000_000
    assert not any("JP" in p.name.upper() and "JPCL" in p.name.upper() for p in files)
    assert "JSRT" not in (samples_dir() / "registry.json").read_text(encoding="utf-8")


def test_shenzhen_sample_carries_the_cc_by_nc_sa_notice() -> None:
    text = get_sample("chest-xray").licence_file.read_text(encoding="utf-8")
    assert "CC BY-NC-SA 4.0" in text and "Stirenko" in text


def test_ct_slab_keeps_hu_and_geometry() -> None:
    sample = get_sample("ct-slab")
    image = load_image(sample.image)
    assert image.shape[2] == 32 and image.array.min() <= -1000 and image.array.max() > 500
    assert "pseudo-ground-truth" in sample.notes


def test_unknown_sample_names_the_known_ones() -> None:
    with pytest.raises(ValueError, match="known: brain-mri"):
        sample_path("mnist")
