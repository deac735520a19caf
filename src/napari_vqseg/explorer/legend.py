"""Class colours, human class names and one colour per model (no Qt, no napari).

Side by side (grid mode) every panel draws its model's mask in the **class colours** of
:func:`class_colours`, the same in every panel, and the ground truth as an outline in a darker
shade of them (:func:`outline_colours`: a class-coloured outline vanished on its own fill).
Stacked on one canvas the masks would be indistinguishable that way, so each model's mask is
drawn in **its own colour** (:func:`model_mask_colours`: the first class in the model's colour,
the next ones lighter), and the ground-truth outline keeps its darker class colours. The
legend (:func:`legend_entries`, :func:`legend_html`) says which is which, with the classes'
human names: the brain pair's ``brain`` is brain tissue *outside* grey matter.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

__all__ = ["CLASS_NOTES", "CLASS_PALETTE", "LegendEntry", "class_colours", "class_note",
           "legend_entries", "legend_html", "model_mask_colours", "outline_colours"]  # fmt: skip

CLASS_PALETTE = ("#3cb44b", "#ffe119", "#f032e6", "#46f0f0", "#bcf60c", "#e6beff",
                 "#9a6324", "#fabebe")  # fmt: skip
"""Class colours by label value (1 first): none of them the red of the disagreement layers
or the bundled models' orange and blue."""

CLASS_NOTES: dict[str, dict[str, str]] = {
    "chest-xray": {"lungs": "both lung fields", "heart": "heart silhouette"},
    "ct-organs": {"lungs": "both lungs", "kidneys": "both kidneys"},
    "brain-mri": {"brain": "brain tissue outside grey matter",
                  "grey matter": "grey matter (atlas regions inside the brain)"},
}  # fmt: skip
"""What a bundled set's class names mean, where the name alone does not say (by set name)."""

_TRANSPARENT = "transparent"


@dataclass(frozen=True)
class LegendEntry:
    """One class: its label value, name, human description (``""``: the name says it), colour."""

    value: int
    name: str
    note: str
    colour: str


def class_note(set_name: str, class_name: str) -> str:
    """The human description of a class of a set (``""`` when the name says it all); a set of
    a bundled set plus exports (``"chest-xray+mine"``) reads the bundled set's."""
    base = (set_name or "").split("+", 1)[0]
    return CLASS_NOTES.get(base, {}).get(class_name, "")


def class_colours(classes: Mapping[int, str]) -> dict[int | None, str]:
    """A napari ``DirectLabelColormap`` colour dict: each class its palette colour,
    background and unknown labels transparent."""
    out: dict[int | None, str] = {None: _TRANSPARENT, 0: _TRANSPARENT}
    for v in sorted(int(k) for k in classes if int(k) != 0):
        out[v] = CLASS_PALETTE[(v - 1) % len(CLASS_PALETTE)]
    return out


def outline_colours(classes: Mapping[int, str]) -> dict[int | None, str]:
    """The ground truth's outline colours: each class colour darkened (visible on its own fill
    and on a bright X-ray); a label the set does not name in grey."""
    fills = class_colours(classes)
    out = {k: v if k in (None, 0) else _mix(v, "#000000", 0.45) for k, v in fills.items()}
    out[None] = "#d0d0d0"
    return out


def model_mask_colours(classes: Mapping[int, str], colour: str) -> dict[int | None, str]:
    """A colour dict for one model's mask on a shared canvas: its first class in the model's
    colour, each further class mixed a step further towards white (so its classes stay
    apart while every class still reads as this model's)."""
    values = sorted(int(k) for k in classes if int(k) != 0)
    out: dict[int | None, str] = {None: _TRANSPARENT, 0: _TRANSPARENT}
    for i, v in enumerate(values):
        out[v] = _mix(colour, "#ffffff", 0.45 * i / max(len(values) - 1, 1))
    return out


def legend_entries(set_name: str, classes: Mapping[int, str]) -> list[LegendEntry]:
    """The classes of a set (label value order) with their human descriptions and colours."""
    colours = class_colours(classes)
    return [LegendEntry(v, classes[v], class_note(set_name, classes[v]), colours[v])
            for v in sorted(int(k) for k in classes if int(k) != 0)]  # fmt: skip


def legend_html(
    entries: Sequence[LegendEntry],
    models: Sequence[tuple[str, str]] = (),
    stacked: bool = False,
) -> str:
    """The legend as rich text for a label: classes with swatches; when ``stacked``, also each
    model's mask colour (``models``: ``(display name, colour)`` in panel order)."""
    if not entries:
        return ""
    classes = " &nbsp; ".join(
        f"{_swatch(e.colour)} <b>{html.escape(e.name)}</b>"
        + (f" = {html.escape(e.note)}" if e.note else "")
        for e in entries
    )
    where = "ground truth: darker outline" if stacked else "masks; ground truth: darker outline"
    lines = [f"Classes ({where}): {classes}"]
    if stacked and models:
        shades = " (lighter: later classes)" if len(entries) > 1 else ""
        masks = " &nbsp; ".join(f"{_swatch(c)} {html.escape(n)}" for n, c in models)
        lines.append(f"Masks, one colour per model{shades}: {masks}")
    return "<br>".join(lines)


def _swatch(colour: str) -> str:
    return f'<span style="color:{html.escape(colour)}">&#9632;</span>'


def _mix(colour: str, other: str, amount: float) -> str:
    """``colour`` (``#rrggbb``) mixed with ``other`` by ``amount`` in [0, 1]."""
    a, b = colour.lstrip("#"), other.lstrip("#")
    if len(a) != 6 or len(b) != 6:
        return colour
    pairs = [(int(a[i : i + 2], 16), int(b[i : i + 2], 16)) for i in (0, 2, 4)]
    return "#" + "".join(f"{round(x + (y - x) * amount):02x}" for x, y in pairs)
