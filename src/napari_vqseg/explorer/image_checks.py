"""What the user must know about an image before reading its masks (pure functions).

The reader may have changed the image on the way in (NaN voxels replaced, colour turned grey,
1 mm assumed for a file without spacing): those notes live in the layer's metadata, and the
explorer shows them in its status line. Images made elsewhere (the console, another plugin)
are checked here too. Non-finite pixels stop the run until the user agrees to replace them
(the explorer's "Replace NaN/Inf and run" button: ``replace_nonfinite``): then they get the
image's smallest finite value (the corruptions and the networks cannot take them) and the
note says so. A blank or tiny image is run but flagged, because its masks would look like
results and mean nothing.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np

__all__ = ["REPLACE_BUTTON", "SMALL_SIDE", "CheckedImage", "checked_image"]

REPLACE_BUTTON = "Replace NaN/Inf and run"
"""The explorer's button that agrees to the replacement (named in the refusal)."""

SMALL_SIDE = 64
"""Images with an in-plane side below this many pixels are flagged as too small."""


@dataclass(frozen=True, eq=False)
class CheckedImage:
    """The image to run (a copy only when pixels changed), the notes for the user, whether
    there is anything to run at all, and whether a replacement would make it runnable
    (``fixable``: non-finite pixels not yet agreed to be replaced)."""

    image: np.ndarray
    notes: list[str] = field(default_factory=list)
    usable: bool = True
    fixable: bool = False


def checked_image(
    image: np.ndarray, reader_notes: Sequence[str] = (), replace_nonfinite: bool = False
) -> CheckedImage:
    """Check ``image`` (see the module docstring); ``reader_notes``: the reader's own notes;
    ``replace_nonfinite``: the user agreed to replace NaN/Inf pixels (else such an image is
    not usable, but ``fixable``)."""
    notes = [str(n) for n in reader_notes if "spacing unknown" not in str(n)]
    image = np.asarray(image)
    if np.issubdtype(image.dtype, np.floating):
        bad = ~np.isfinite(image)
        count = int(bad.sum())
        if count == image.size:
            text = "Every pixel of this image is NaN or infinite: there is nothing to segment."
            return CheckedImage(image, [text], usable=False)
        if count and not replace_nonfinite:
            text = (f"{count} pixels of this image are NaN or infinite: the models cannot take "
                    f"them. '{REPLACE_BUTTON}' puts the image's minimum in their place for the "
                    "run (the layer itself stays as it is).")  # fmt: skip
            return CheckedImage(image, [*notes, text], usable=False, fixable=True)
        if count:
            image = np.where(bad, np.nanmin(np.where(bad, np.nan, image)), image)
            notes.append(f"{count} NaN/Inf pixels replaced by the image's minimum before the run.")
    if image.size and float(np.min(image)) == float(np.max(image)):
        notes.append("The image is blank (one value everywhere): its masks mean nothing.")
    side = min(image.shape[:2]) if image.ndim >= 2 else 0
    if side < SMALL_SIDE:
        notes.append(f"The image is only {image.shape[0]} x {image.shape[1]} pixels: far smaller "
                     "than the models' training images, so the masks may be unreliable.")  # fmt: skip
    return CheckedImage(image, notes)
