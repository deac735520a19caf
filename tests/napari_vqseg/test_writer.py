"""The writer: labels saved on the source grid (NIfTI, NRRD, PNG) load back unchanged."""

from __future__ import annotations

import nibabel as nib
import numpy as np
import pytest
import skimage.io

from napari_vqseg._reader import get_reader
from napari_vqseg._writer import write_labels
from vqseg_core.io import load_image


@pytest.fixture
def volume(tmp_path):
    affine = np.diag([0.7, 0.8, 3.0, 1.0])
    affine[:3, 3] = (1, 2, 3)
    data = np.random.default_rng(0).normal(size=(9, 8, 5)).astype(np.float32)
    nib.save(nib.Nifti1Image(data, affine), tmp_path / "mr.nii.gz")
    return get_reader(str(tmp_path / "mr.nii.gz"))(str(tmp_path / "mr.nii.gz"))[0]


@pytest.mark.parametrize("suffix", [".nii.gz", ".nrrd"])
def test_labels_round_trip_with_the_source_geometry(volume, tmp_path, suffix) -> None:
    data, kwargs, _ = volume
    labels = (data > 0).astype(np.uint8) + (data > 1)
    meta = {
        "metadata": kwargs["metadata"],
        "scale": kwargs["scale"],
        "translate": kwargs["translate"],
    }
    [out] = write_labels(str(tmp_path / f"seg{suffix}"), labels, meta)
    back = load_image(out)
    np.testing.assert_array_equal(back.array, labels)
    np.testing.assert_allclose(back.spacing, (0.7, 0.8, 3.0), rtol=1e-5)
    np.testing.assert_allclose(back.affine, kwargs["metadata"]["vqseg_image"].affine, atol=1e-4)


def test_png_labels_round_trip(tmp_path) -> None:
    skimage.io.imsave(tmp_path / "x.png", np.zeros((12, 10), np.uint8), check_contrast=False)
    _, kwargs, _ = get_reader(str(tmp_path / "x.png"))(str(tmp_path / "x.png"))[0]
    labels = np.zeros((12, 10), np.uint8)
    labels[3:7, 2:5] = 2
    [out] = write_labels(str(tmp_path / "x_seg.png"), labels, {"metadata": kwargs["metadata"]})
    np.testing.assert_array_equal(load_image(out).array, labels)


def test_layer_without_source_uses_its_scale_and_translate(tmp_path) -> None:
    labels = np.zeros((6, 5, 4), np.uint8)
    labels[2:4, 1:3, 1:3] = 1
    [out] = write_labels(
        str(tmp_path / "drawn.nii.gz"), labels, {"scale": (2.0, 1.5, 1.0), "translate": (5, 6, 7)}
    )
    back = load_image(out)
    np.testing.assert_array_equal(back.array, labels)
    np.testing.assert_allclose(back.spacing, (2.0, 1.5, 1.0))
    np.testing.assert_allclose(back.affine[:3, 3], (5, 6, 7))


def test_a_refused_save_tells_the_user_why(tmp_path, monkeypatch) -> None:
    import napari.utils.notifications as notifications

    from napari_vqseg._writer import write_labels

    said: list[str] = []
    monkeypatch.setattr(notifications, "show_error", said.append)
    with pytest.raises(ValueError, match="2D image"):
        write_labels(
            str(tmp_path / "mask.nii.gz"), np.zeros((20, 30), np.uint8), {"scale": (0.5, 0.5)}
        )
    assert said and "Nothing saved to mask.nii.gz" in said[0] and ".png" in said[0]
    assert not (tmp_path / "mask.nii.gz").exists()
