"""A model set only runs on the kind of image it was made for."""

from __future__ import annotations

import numpy as np

from napari_vqseg.explorer.compat import default_set, guess_modality, incompatibility

SETS = {"brain-mri": "mri", "chest-xray": "xray", "ct-organs": "ct"}


def test_the_kind_of_image_comes_from_its_tag_shape_and_values() -> None:
    assert guess_modality(2, np.zeros((8, 8))) == "xray"
    assert guess_modality(3, np.full((4, 4, 4), -1000.0)) == "ct"
    assert guess_modality(3, np.zeros((4, 4, 4))) is None  # MR or something else: cannot tell
    assert guess_modality(3, np.zeros((4, 4, 4)), tag="MR") == "mri"


def test_a_ct_never_gets_the_brain_or_chest_set() -> None:
    assert "this image looks like CT volumes" in incompatibility("brain-mri", "mri", 3, "ct")
    assert "this image is 3D" in incompatibility("chest-xray", "xray", 3, "ct")
    assert incompatibility("ct-organs", "ct", 3, "ct") is None
    assert default_set(SETS, 3, "ct") == "ct-organs"  # not the alphabetically first


def test_defaults_for_radiographs_and_unknown_volumes() -> None:
    assert default_set(SETS, 2, "xray") == "chest-xray"
    assert default_set(SETS, 3, None) == "brain-mri"  # a volume of unknown kind: a 3D set
    assert incompatibility("brain-mri", "mri", 3, None) is None  # unknown kind: allowed
    assert default_set({"chest-xray": "xray"}, 3, "ct") is None
