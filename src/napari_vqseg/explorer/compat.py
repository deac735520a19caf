"""Which bundled model set fits an image (pure functions, no napari, no torch).

A set is made for one kind of image (the registry's ``modality``): ``xray`` sets take 2D
radiographs, ``ct`` and ``mri`` sets take volumes. Running a set on the wrong kind of image
gives numbers that look like results and mean nothing (a brain network "segmenting" a CT), so
the explorer refuses it with a reason and, when the image changes, picks a fitting set itself.
The image's kind comes from its modality tag (DICOM), else from its shape (2D: a radiograph)
and, for volumes, its values (Hounsfield units below -200: CT).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

__all__ = ["MODALITY_DIMS", "default_set", "guess_modality", "incompatibility"]

MODALITY_DIMS = {"xray": 2, "ct": 3, "mri": 3}
"""The image dimensionality each set modality takes."""

_TAGS = {"CT": "ct", "MR": "mri", "XR": "xray", "CR": "xray", "DX": "xray", "DR": "xray"}
_WORDS = {"xray": "X-ray radiographs (2D)", "ct": "CT volumes", "mri": "MRI volumes"}


def guess_modality(ndim: int, array: Any = None, tag: str | None = None) -> str | None:
    """``"xray"``, ``"ct"``, ``"mri"`` or ``None`` (cannot tell) for an image."""
    if tag and tag.upper() in _TAGS:
        return _TAGS[tag.upper()]
    if ndim == 2:
        return "xray"
    if ndim == 3 and array is not None:
        a = np.asarray(array)
        sample = a.ravel()[:: max(1, a.size // 200_000)]
        if sample.size and np.isfinite(sample).any() and float(np.nanmin(sample)) < -200:
            return "ct"
    return None


def incompatibility(
    set_name: str, set_modality: str, ndim: int, modality: str | None
) -> str | None:
    """Why ``set_name`` cannot run on the image, in words, or ``None`` when it can."""
    if not set_modality:
        return None
    want = MODALITY_DIMS.get(set_modality)
    if want is not None and want != ndim:
        return (f"{set_name} is for {_WORDS[set_modality]}; this image is {ndim}D. "
                "Choose a set for this image.")  # fmt: skip
    if modality is not None and modality != set_modality:
        return (f"{set_name} is for {_WORDS[set_modality]}; this image looks like "
                f"{_WORDS[modality].split(' (')[0]}. Choose a set for this image.")  # fmt: skip
    return None


def default_set(
    sets: Mapping[str, str], ndim: int, modality: str | None, order: Sequence[str] = ()
) -> str | None:
    """The first set (in ``order``, else the mapping's) that fits: same modality when it is
    known, else the same dimensionality; ``None`` when none fits.

    Args:
        sets: set name -> modality.
    """
    names = [n for n in order if n in sets] or list(sets)
    for name in names:
        if modality is not None and sets[name] == modality:
            return name
    if modality is None:
        for name in names:
            if incompatibility(name, sets[name], ndim, None) is None:
                return name
    return None
