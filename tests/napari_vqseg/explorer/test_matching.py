"""The ground truth of an image is its own mask, never another case's."""

from __future__ import annotations

from napari_vqseg.explorer.matching import ground_truth_for, name_stem


def test_names_with_ground_truth_words_share_the_image_stem() -> None:
    assert name_stem("case2_mask") == name_stem("case2") == "case2"
    assert name_stem("ct-slab ground truth") == "ct-slab"
    assert name_stem("x_seg.nii.gz") == name_stem("x.nii.gz") == "x"
    assert name_stem("JPCLN001 labels") == "jpcln001"


def test_each_case_gets_its_own_mask_among_equal_shapes() -> None:
    labels = [("case1_mask", (64, 64)), ("case2_mask", (64, 64))]
    assert ground_truth_for("case2", (64, 64), labels, n_images=2) == "case2_mask"
    assert ground_truth_for("case1", (64, 64), labels, n_images=2) == "case1_mask"
    assert ground_truth_for("case3", (64, 64), labels, n_images=3) is None  # no guess


def test_a_lone_mask_of_the_right_shape_is_taken_only_for_a_lone_image() -> None:
    labels = [("annotation", (64, 64))]
    assert ground_truth_for("xray", (64, 64), labels, n_images=1) == "annotation"
    assert ground_truth_for("xray", (64, 64), labels, n_images=2) is None
    assert ground_truth_for("xray", (32, 32), labels, n_images=1) is None  # wrong shape
    assert ground_truth_for("case2", (32, 32), [("case2_mask", (64, 64))], n_images=1) is None
