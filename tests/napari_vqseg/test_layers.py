"""Layer geometry: spacing that a file never gave is not reported as millimetres."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pytest
from PIL import Image as PILImage

from napari_vqseg._layers import layer_data_tuple, layer_spacing
from vqseg_core.io import load_image


def _layer(data_tuple):
    _data, kwargs, _ = data_tuple
    return SimpleNamespace(
        metadata=kwargs["metadata"], units=kwargs["units"], scale=kwargs["scale"]
    )


def test_a_png_has_pixel_units_and_no_spacing(tmp_path) -> None:
    path = tmp_path / "xray.png"
    PILImage.fromarray((np.arange(64 * 48) % 251).reshape(64, 48).astype(np.uint8)).save(path)
    layer = _layer(layer_data_tuple(load_image(path)))
    assert layer.units == ("pixel", "pixel")
    assert layer_spacing(layer) is None


def test_a_nifti_keeps_its_spacing_in_mm(tmp_path) -> None:
    import nibabel as nib

    path = tmp_path / "ct.nii.gz"
    nib.save(nib.Nifti1Image(np.zeros((6, 5, 4), np.float32), np.diag([0.7, 0.8, 2.5, 1.0])), path)
    layer = _layer(layer_data_tuple(load_image(path)))
    assert layer.units == ("mm",) * 3
    assert layer_spacing(layer) == pytest.approx((0.7, 0.8, 2.5))


def test_a_plain_layer_at_napari_defaults_has_no_spacing() -> None:
    assert (
        layer_spacing(SimpleNamespace(metadata={}, units=("pixel", "pixel"), scale=(1, 1))) is None
    )
    mm = SimpleNamespace(metadata={}, units=("millimeter", "millimeter"), scale=(0.5, 0.5))
    assert layer_spacing(mm) == (0.5, 0.5)
    scaled = SimpleNamespace(metadata={}, units=("pixel", "pixel"), scale=(0.5, 0.5))
    assert layer_spacing(scaled) == (0.5, 0.5)  # a scale someone set is taken as mm
