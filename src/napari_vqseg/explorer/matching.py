"""Which labels layer is the ground truth of an image (a pure function, no napari).

The explorer must never score an image against another case's mask. A labels layer belongs to
an image when it has the image's shape and its name is the image's name plus a ground-truth
word (``case2`` / ``case2_mask``, ``ct-slab`` / ``ct-slab ground truth``, ``x.nii`` /
``x_seg.nii``). When names say nothing, a single labels layer of the right shape is taken
only when the viewer holds a single image; otherwise no ground truth is chosen and the user
picks one.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

__all__ = ["ground_truth_for", "name_stem"]

_GT_WORDS = re.compile(
    r"([ _\-.]*(ground[ _\-]?truth|gt|masks?|seg(mentation)?s?|labels?|annotations?|"
    r"nii(\.gz)?|png|tiff?|nrrd|mha|dcm))+$",
    re.IGNORECASE,
)


def name_stem(name: str) -> str:
    """A layer name without ground-truth words and file suffixes, lower case."""
    return _GT_WORDS.sub("", name.strip()).strip(" _-.").lower()


def ground_truth_for(
    image: str,
    image_shape: Sequence[int],
    labels: Sequence[tuple[str, Sequence[int]]],
    n_images: int,
) -> str | None:
    """The name of the labels layer that is ``image``'s ground truth, or ``None``.

    Args:
        image: the image layer's name.
        image_shape: its data shape.
        labels: ``(name, shape)`` of every labels layer (the explorer's own excluded).
        n_images: how many image layers the viewer holds.
    """
    shape = tuple(image_shape)
    fitting = [name for name, s in labels if tuple(s) == shape]
    stem = name_stem(image)
    named = [name for name in fitting if name != image and name_stem(name) == stem]
    if named:
        return named[-1]
    if n_images == 1 and len(fitting) == 1:
        return fitting[0]
    return None
