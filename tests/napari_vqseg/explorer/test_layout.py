"""Grid planning: each model's layers share one grid cell."""

from __future__ import annotations

from napari_vqseg.explorer.layout import grid_plan, stacked_order


def cells_of(plan, n_cells=2):
    return [plan.order[i * plan.stride : (i + 1) * plan.stride] for i in range(n_cells)]


def test_unequal_cells_are_padded_with_hidden_user_layers() -> None:
    plan = grid_plan([["u1", "u2"], ["v1", "v2", "v3"]], ["img", "gt"])
    assert plan.stride == 3
    first, second = cells_of(plan)
    assert first[:2] == ["u1", "u2"] and first[2] in plan.hidden
    assert second == ["v1", "v2", "v3"]
    assert set(plan.order) == {"u1", "u2", "v1", "v2", "v3", "img", "gt"}
    assert plan.hidden == ["img", "gt"]


def test_equal_cells_need_no_padding() -> None:
    plan = grid_plan([["a", "b"], ["c", "d"]], ["x"])
    assert plan.order == ["a", "b", "c", "d", "x"] and plan.stride == 2


def test_stacked_order_puts_overlays_on_top() -> None:
    assert stacked_order(["c"], ["m"], ["img"]) == ["img", "c", "m"]
