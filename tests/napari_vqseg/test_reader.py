"""The reader: loads every supported format, never raises in get_reader, clear errors on bad files."""

from __future__ import annotations

import gzip

import nibabel as nib
import numpy as np
import pytest
import skimage.io

from napari_vqseg._reader import get_reader
from vqseg_core.io import ImageLoadError


@pytest.fixture
def good_files(tmp_path):
    rng = np.random.default_rng(0)
    volume = rng.normal(100, 20, (12, 10, 6)).astype(np.float32)
    labels = (volume > 110).astype(np.uint8)
    affine = np.diag([0.8, 0.9, 2.5, 1.0])
    affine[:3, 3] = (-10, 5, 20)
    nib.save(nib.Nifti1Image(volume, affine), tmp_path / "ct.nii.gz")
    nib.save(nib.Nifti1Image(labels, affine), tmp_path / "ct_seg.nii.gz")
    skimage.io.imsave(
        tmp_path / "xray.png", (rng.random((20, 16)) * 255).astype(np.uint8), check_contrast=False
    )
    skimage.io.imsave(
        tmp_path / "xray_mask.png",
        (rng.random((20, 16)) > 0.5).astype(np.uint8),
        check_contrast=False,
    )
    return tmp_path


def test_volume_opens_as_image_with_spacing_and_header(good_files) -> None:
    reader = get_reader(str(good_files / "ct.nii.gz"))
    assert reader is not None
    [(data, kwargs, kind)] = reader(str(good_files / "ct.nii.gz"))
    assert kind == "image" and data.shape == (12, 10, 6)
    np.testing.assert_allclose(kwargs["scale"], (0.8, 0.9, 2.5))
    np.testing.assert_allclose(kwargs["translate"], (-10, 5, 20))
    assert kwargs["metadata"]["source_format"] == "nifti"
    assert kwargs["metadata"]["vqseg_image"].geometry is not None


@pytest.mark.parametrize("name", ["ct_seg.nii.gz", "xray_mask.png"])
def test_label_files_open_as_labels(good_files, name) -> None:
    [(data, _kwargs, kind)] = get_reader(str(good_files / name))(str(good_files / name))
    assert kind == "labels" and np.issubdtype(data.dtype, np.integer)


def test_plain_png_opens_as_image(good_files) -> None:
    [(data, kwargs, kind)] = get_reader(str(good_files / "xray.png"))(str(good_files / "xray.png"))
    assert kind == "image" and data.shape == (20, 16) and kwargs["scale"] == (1.0, 1.0)


def test_a_list_of_paths_opens_all(good_files) -> None:
    paths = [str(good_files / "ct.nii.gz"), str(good_files / "ct_seg.nii.gz")]
    assert [k for _, _, k in get_reader(paths)(paths)] == ["image", "labels"]


@pytest.mark.parametrize("path", ["missing.nii.gz", "notes.txt", "", "empty.png", "folder"])
def test_reader_declines_what_it_cannot_read(tmp_path, path) -> None:
    (tmp_path / "notes.txt").write_text("hello", encoding="utf-8")
    (tmp_path / "empty.png").write_bytes(b"")
    (tmp_path / "folder").mkdir()
    assert get_reader(str(tmp_path / path) if path else "") is None


def test_get_reader_never_raises_on_odd_input() -> None:
    for odd in (None, 3, [], ["\0bad"], object()):
        assert get_reader(odd) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "name", ["garbage.png", "garbage.nii.gz", "cut.nii.gz", "garbage.nrrd", "cut.png"]
)
def test_garbage_and_truncated_files_fail_clearly(good_files, name) -> None:
    path = good_files / name
    if name == "cut.nii.gz":
        path.write_bytes((good_files / "ct.nii.gz").read_bytes()[:300])
    elif name == "cut.png":
        path.write_bytes((good_files / "xray.png").read_bytes()[:60])
    elif name.endswith(".gz"):
        path.write_bytes(gzip.compress(b"not a nifti header" * 20))
    else:
        path.write_bytes(
            b"\x89PNG\r\n\x1a\n" + b"garbage" * 50
            if name.endswith(".png")
            else b"NRRD0004\nnonsense\n"
        )
    reader = get_reader(str(path))  # must not raise
    assert reader is not None
    with pytest.raises(ImageLoadError, match=path.name):
        reader(str(path))
