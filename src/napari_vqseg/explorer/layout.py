"""Where the explorer's layers go in the layer list and the grid (pure functions, no napari).

Side by side uses napari's grid mode (one camera for every panel: linked by construction)
with ``stride`` layers per panel: the first model's layers come first, then the second's, and
so on. A panel with fewer layers than the stride is padded with hidden user layers (hidden
anyway while side by side), or with spacers when there are too few, so that every panel
starts at a multiple of the stride; the remaining user layers are hidden and placed after.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

SPACER = "spacer:"
"""Prefix of the names of the spacers :func:`grid_plan` asks for."""


@dataclass(frozen=True)
class GridPlan:
    """A layer order (bottom first), the grid stride, and which layers must be hidden.

    Attributes:
        order: layer names, bottom first.
        stride: layers per panel.
        hidden: user layers (hidden while side by side).
        spacers: names (``"spacer:0"``, ...) of empty hidden layers to make for padding.
    """

    order: list[str]
    stride: int
    hidden: list[str]
    spacers: list[str]


def grid_plan(cells: Sequence[Sequence[str]], others: Sequence[str]) -> GridPlan:
    """The layer order that puts each of ``cells`` in its own grid panel.

    Args:
        cells: layer names per panel, bottom first (one panel per model).
        others: every other layer name (hidden while side by side; used as padding).
    """
    stride = max((len(c) for c in cells), default=1) or 1
    spare = list(others)
    order: list[str] = []
    spacers: list[str] = []
    for i, cell in enumerate(cells):
        order.extend(cell)
        if i == len(cells) - 1:
            break  # the last panel needs no padding
        for _ in range(stride - len(cell)):
            if spare:
                order.append(spare.pop(0))
            else:
                spacers.append(f"{SPACER}{len(spacers)}")
                order.append(spacers[-1])
    order.extend(spare)
    return GridPlan(order, stride, list(others), spacers)


def grid_shape(n_panels: int) -> tuple[int, int]:
    """Rows and columns for ``n_panels`` models: ``1 x n`` up to 3, ``2 x 3`` beyond."""
    if n_panels < 1:
        raise ValueError(f"a grid needs at least one panel, got {n_panels}")
    return (1, n_panels) if n_panels <= 3 else (2, 3)


def stacked_order(
    explorer_bottom: Sequence[str], explorer_top: Sequence[str], others: Sequence[str]
) -> list[str]:
    """One canvas: user layers first, then the corrupted images, then the overlays on top."""
    return [*others, *explorer_bottom, *explorer_top]
