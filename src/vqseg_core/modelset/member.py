"""One model of a set: the network, its weights' identity, its classes and its preprocessing."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from vqseg_core.data.preprocess import Recipe

KEY_PATTERN = re.compile(r"[a-z][a-z0-9_-]{0,31}")
"""Member keys: short, lower case, usable in file names, CSV columns and layer roles."""

PALETTE = ("#ff8c42", "#4fc3f7", "#8bc34a", "#e57373", "#ba68c8", "#ffd54f")
"""Default colours by position in a set (orange, light blue, green, red, purple, yellow)."""

KIND_NAMES = {
    "unet": "UNet",
    "vqunet": "VQ-UNet",
    "vqskip": "VQ-UNet (quantised skips)",
}
"""Display names of the project's model kinds (a member may give its own)."""


@dataclass(frozen=True, eq=False)
class Member:
    """One network of a :class:`~vqseg_core.modelset.ModelSet`.

    Attributes:
        key: the member's id in the set (``"unet"``, ``"vqunet"``, ...): results, CSV rows and
            layer roles are keyed by it.
        name: display name (``"VQ-UNet"``).
        kind: the model kind (``ModelConfig.kind``: ``"unet"``, ``"vqunet"``, ...).
        colour: a hex colour for plots and panels.
        model: the network (eval mode).
        sha256: sha256 of its weight file (``""`` for a network built in memory).
        classes: label value -> class name (background 0 implied).
        recipe: the preprocessing it was trained with.
        patch_size: sliding-window size for volumes (``None``: whole input / slice by slice).
        info: free-form metadata (validation Dice, training data, the file it came from).
    """

    key: str
    name: str
    kind: str
    colour: str
    model: Any
    sha256: str
    classes: dict[int, str]
    recipe: Recipe
    patch_size: tuple[int, ...] | None = None
    info: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.key, str) or not KEY_PATTERN.fullmatch(self.key):
            raise ValueError(
                f"model key must match {KEY_PATTERN.pattern} (e.g. 'unet'), got {self.key!r}"
            )
        if not self.classes:
            raise ValueError(f"model {self.key!r} names no classes")

    @property
    def model_dims(self) -> int:
        """Spatial dimensions of the network itself (2 or 3)."""
        return int(self.model.spatial_dims)

    @property
    def spatial_dims(self) -> int:
        """Dimensions of the images it takes (a 2D network runs a volume slice by slice)."""
        return int(self.recipe.spatial_dims)


def default_name(kind: str, fallback: str) -> str:
    """The display name of a model kind, else ``fallback``."""
    return KIND_NAMES.get(kind, fallback)


def slug_key(text: str) -> str:
    """A valid member key made from any text (a file stem, a kind)."""
    key = re.sub(r"[^a-z0-9_-]+", "-", text.lower()).strip("-_")
    if not key or not key[0].isalpha():
        key = f"m-{key}" if key else "model"
    return key[:32]
