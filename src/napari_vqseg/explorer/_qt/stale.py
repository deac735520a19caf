"""Results never outlive their image: which image the explorer's results belong to, and their
removal as soon as another image is chosen.

The explorer notes the image layer (and its data object) whose results it shows or computes.
When the chosen image is another one (a new image opened or selected, the layer deleted, its
data replaced), the old results go at once, before the new image is checked: a new image the
explorer refuses (NaN/Inf pixels, a set that does not fit it) must not sit next to the old
image's masks, difference, latent maps and metrics, which would read as its own. The user's
own layers stay (the one chosen now made visible, napari's grid off, the view fitted to it);
running analyses of the old image are cancelled so that their results cannot come back later.
The status says which image's results went and why. The view is fitted to the analysed image
and its panels only (:func:`fit`), never to the world the user's other images stretch.
"""

from __future__ import annotations

import weakref
from typing import Any

Owner = tuple[Any, int]
"""A weak reference to an image layer and the ``id`` of its data."""


def owner(layer: Any) -> Owner:
    """Who the results about to be shown or computed belong to: ``layer`` with its data."""
    return weakref.ref(layer), id(layer.data)


def belongs(mark: Owner | None, layer: Any | None) -> bool:
    """Whether results marked ``mark`` are those of ``layer`` (its data unchanged)."""
    if mark is None or layer is None:
        return False
    return mark[0]() is layer and mark[1] == id(layer.data)


def forget_other_image(widget: Any, layer: Any | None) -> str:
    """Remove the results of an image other than ``layer`` (the one chosen now, or ``None``).

    Returns:
        A line for the status (which image's results went and why), or ``""`` when nothing
        was removed.
    """
    mark = widget.results_of
    if mark is None or belongs(mark, layer):
        return ""
    widget.results_of = None
    widget.session.cancel("analyse")
    widget.session.forget_view()
    shown = bool(widget.layers.all())
    widget.layers.clear(keep=layer)
    widget.metrics.empty()
    widget.legend.show_legend("", {})  # no masks on screen: no classes to explain
    if shown:  # the old image's panels are gone: the chosen image fills the canvas
        widget.viewer.reset_view(layers=None if layer is None else [layer])
    old = mark[0]()
    if old is None or old not in widget.viewer.layers:
        return "The results of the previous image were removed (its layer is gone)."
    if old is layer:
        return f"The results of {old.name!r} were removed: its data changed."
    return f"The results of {old.name!r} were removed: they belong to another image."


def fit(widget: Any, layer: Any, partial: bool = False) -> None:
    """Fit the view to the analysed image ``layer`` and the explorer's panels of it: the
    user's other images (hidden side by side) do not count, e.g. a 2D X-ray in pixels next to
    a CT in mm would stretch the world and push the CT's panels into a corner. ``partial``:
    fitted to a volume's first partial mask (one panel so far, a 1 x 1 grid): fitted again when
    every panel is in (:func:`fit_due`), else the panels would show half the image."""
    widget.fit_again = partial
    layers = [lay for lay in (layer, *widget.layers.all()) if lay in widget.viewer.layers]
    widget.viewer.reset_view(layers=layers or None)


def fit_due(widget: Any, before: set[int]) -> bool:
    """Whether a view shown must be fitted: the first one (no explorer layer ``before`` it), or
    the first full one after a volume's partial masks (:func:`fit`)."""
    return not before or bool(getattr(widget, "fit_again", False))
