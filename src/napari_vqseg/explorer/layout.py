"""Where the explorer's layers go in the layer list (pure functions, no napari, no Qt).

Side by side uses napari's grid mode with ``stride`` layers per grid cell: the UNet cell's layers
come first, then the VQ-UNet cell's; a shorter cell is padded with hidden user layers so both
cells start at a multiple of the stride; every other layer is hidden and placed after them.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class GridPlan:
    """A layer order (bottom first), the grid stride, and which layers must be hidden."""

    order: list[str]
    stride: int
    hidden: list[str]


def grid_plan(cells: Sequence[Sequence[str]], others: Sequence[str]) -> GridPlan:
    """The layer order that puts each of ``cells`` in its own grid cell.

    Args:
        cells: layer names per cell, bottom first (e.g. UNet layers, VQ-UNet layers).
        others: every other layer name (hidden while side by side; used as padding).
    """
    stride = max((len(c) for c in cells), default=1) or 1
    spare = list(others)
    order: list[str] = []
    hidden: list[str] = list(others)
    for i, cell in enumerate(cells):
        order.extend(cell)
        if i == len(cells) - 1:
            break  # the last cell needs no padding
        for _ in range(stride - len(cell)):
            if spare:  # with nothing left to pad with, the cells shift (rare: no user layers)
                order.append(spare.pop(0))
    order.extend(spare)
    return GridPlan(order, stride, hidden)


def stacked_order(
    explorer_bottom: Sequence[str], explorer_top: Sequence[str], others: Sequence[str]
) -> list[str]:
    """One canvas: user layers first, then the corrupted images, then the overlays on top."""
    return [*others, *explorer_bottom, *explorer_top]
