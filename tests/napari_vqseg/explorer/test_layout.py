"""Grid planning: each model's layers share one grid panel; grid shapes."""

from __future__ import annotations

import pytest

from napari_vqseg.explorer.layout import SPACER, grid_plan, grid_shape, stacked_order


def cells_of(plan, n_cells):
    return [plan.order[i * plan.stride : (i + 1) * plan.stride] for i in range(n_cells)]


def test_unequal_cells_are_padded_with_hidden_user_layers() -> None:
    plan = grid_plan([["u1", "u2"], ["v1", "v2", "v3"]], ["img", "gt"])
    assert plan.stride == 3 and not plan.spacers
    first, second = cells_of(plan, 2)
    assert first[:2] == ["u1", "u2"] and first[2] in plan.hidden
    assert second == ["v1", "v2", "v3"]
    assert set(plan.order) == {"u1", "u2", "v1", "v2", "v3", "img", "gt"}
    assert plan.hidden == ["img", "gt"]


def test_equal_cells_need_no_padding() -> None:
    plan = grid_plan([["a", "b"], ["c", "d"]], ["x"])
    assert plan.order == ["a", "b", "c", "d", "x"] and plan.stride == 2


def test_spacers_pad_when_user_layers_run_out() -> None:
    plan = grid_plan([["u1"], ["w1"], ["v1", "v2", "v3"]], ["img"])
    assert plan.stride == 3 and plan.spacers == [f"{SPACER}0", f"{SPACER}1", f"{SPACER}2"]
    first, second, third = cells_of(plan, 3)
    assert first[0] == "u1" and second[0] == "w1" and third == ["v1", "v2", "v3"]


@pytest.mark.parametrize(("n", "shape"), [(1, (1, 1)), (2, (1, 2)), (3, (1, 3)), (4, (2, 3)),
                                          (6, (2, 3))])  # fmt: skip
def test_grid_is_one_row_up_to_three_then_two_by_three(n, shape) -> None:
    assert grid_shape(n) == shape


def test_stacked_order_puts_overlays_on_top() -> None:
    assert stacked_order(["c"], ["m"], ["img"]) == ["img", "c", "m"]
