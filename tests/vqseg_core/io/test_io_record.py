"""The image record every reader builds (vqseg_core.io.record), re-exported by the package."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from vqseg_core.io.record import Image, SourceGeometry, image_suffix


def test_image_shape_and_notes() -> None:
    array = np.zeros((3, 4), np.float32)
    image = Image(
        array=array,
        spacing=(0.5, 0.5),
        affine=np.diag([0.5, 0.5, 1.0, 1.0]),
        source_format="png",
        path=Path("x.png"),
        geometry=SourceGeometry(shape=(3, 4), affine=np.eye(4)),
        metadata={"notes": ["rgb converted to grey"]},
    )
    assert image.shape == (3, 4) and image.notes == ["rgb converted to grey"]
    assert image.modality is None


def test_image_suffix_keeps_nii_gz_whole() -> None:
    assert image_suffix("a/b.NII.GZ") == ".nii.gz"
    assert image_suffix("scan.Mha") == ".mha" and image_suffix("JPCLN001.IMG") == ".img"
    assert image_suffix("folder") == ""


def test_the_package_api_is_the_record() -> None:
    import vqseg_core.io as io
    from vqseg_core.io import image

    assert io.Image is Image is image.Image and io.SourceGeometry is SourceGeometry

