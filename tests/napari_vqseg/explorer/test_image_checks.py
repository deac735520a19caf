"""The user hears what happened to the image: NaNs replaced, blank or tiny images flagged."""

from __future__ import annotations

import numpy as np

from napari_vqseg.explorer.image_checks import REPLACE_BUTTON, checked_image


def test_nan_pixels_wait_for_the_users_word_then_are_replaced_by_the_minimum_and_said() -> None:
    image = np.arange(100 * 100, dtype=np.float32).reshape(100, 100)
    image[3, 4], image[5, 6] = np.nan, np.inf
    asked = checked_image(image)
    assert not asked.usable and asked.fixable
    assert "2 pixels of this image are NaN or infinite" in asked.notes[0]
    assert REPLACE_BUTTON in asked.notes[0]  # the refusal names the button that fixes it
    checked = checked_image(image, replace_nonfinite=True)
    assert checked.usable and not checked.fixable
    out, notes = checked.image, checked.notes
    assert np.isfinite(out).all() and out[3, 4] == 0.0 and out[5, 6] == 0.0
    assert notes == ["2 NaN/Inf pixels replaced by the image's minimum before the run."]
    assert np.isnan(image[3, 4])  # the layer's own data is not touched


def test_blank_tiny_and_all_nan_images_are_flagged() -> None:
    assert "blank" in checked_image(np.ones((100, 100))).notes[0]
    assert (
        "only 20 x 20 pixels" in checked_image(np.random.default_rng(0).random((20, 20))).notes[0]
    )
    nothing = checked_image(np.full((80, 80), np.nan), replace_nonfinite=True)
    assert "nothing to segment" in nothing.notes[0] and not nothing.usable
    assert not checked_image(np.full((80, 80), np.nan)).fixable  # no button: nothing to save


def test_reader_notes_are_passed_on_but_not_the_spacing_one() -> None:
    image = np.random.default_rng(0).random((100, 100))
    notes = checked_image(image, ["rgb converted to grey (Rec. 709 luminance)",
                                  "spacing unknown: 1.0 mm assumed"]).notes  # fmt: skip
    assert notes == ["rgb converted to grey (Rec. 709 luminance)"]
    assert checked_image(image).notes == [] and checked_image(image).usable
