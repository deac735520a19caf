"""Class colours, human class names and one colour per model (no Qt)."""

from __future__ import annotations

from napari_vqseg.explorer.legend import (
    class_colours,
    class_note,
    legend_entries,
    legend_html,
    model_mask_colours,
)

BRAIN = {1: "brain", 2: "grey matter"}


def test_the_brain_class_is_named_for_what_it_is() -> None:
    assert class_note("brain-mri", "brain") == "brain tissue outside grey matter"
    assert class_note("chest-xray+mine", "lungs") == "both lung fields"  # a bundled set + exports
    assert class_note("my-own-set", "brain") == ""  # no guess for a set we do not know
    entries = legend_entries("brain-mri", BRAIN)
    assert [(e.value, e.name) for e in entries] == [(1, "brain"), (2, "grey matter")]
    assert "brain tissue outside grey matter" in legend_html(entries)


def test_class_colours_are_distinct_and_background_is_transparent() -> None:
    colours = class_colours({0: "background", **BRAIN, 3: "csf"})
    assert colours[0] == colours[None] == "transparent"
    assert len({colours[v] for v in (1, 2, 3)}) == 3
    assert "#ff0000" not in colours.values()  # the disagreement layers' red


def test_the_ground_truth_outline_is_darker_than_the_fill_of_its_class() -> None:
    from matplotlib.colors import to_rgb

    from napari_vqseg.explorer.legend import outline_colours

    fill, line = class_colours(BRAIN), outline_colours(BRAIN)
    for v in (1, 2):
        assert sum(to_rgb(line[v])) < sum(to_rgb(fill[v])) * 0.7
    assert line[0] == "transparent" and line[None] != "transparent"  # unnamed labels still drawn


def test_on_a_stacked_canvas_each_model_has_its_own_colour() -> None:
    unet, vq = model_mask_colours(BRAIN, "#ff8c42"), model_mask_colours(BRAIN, "#4fc3f7")
    assert unet[1] == "#ff8c42" and vq[1] == "#4fc3f7"
    assert unet[2] != unet[1] and unet[2] not in vq.values()  # classes apart, models apart
    text = legend_html(legend_entries("brain-mri", BRAIN), [("UNet", "#ff8c42")], stacked=True)
    assert "one colour per model" in text and "UNet" in text and "#ff8c42" in text
    assert "one colour per model" not in legend_html(legend_entries("brain-mri", BRAIN))
    assert legend_html([]) == ""
