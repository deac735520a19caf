"""Held-out axial slabs of a volume: evaluating a slice-split model on its validation slices.

A pair trained with ``data.split: slices`` held out axial ranges of the *model grid* (after the
recipe's resampling), e.g. ``["14:28", "55:83"]`` for ``ct-organs``. Scoring it on the whole
volume would mix training slices into the result. :func:`input_slices_for` maps model-grid
ranges onto the input grid the way predictions are mapped back (the recipe's nearest-neighbour
:meth:`~vqseg_core.data.preprocess.Recipe.invert_labels`): an input slice is held out when the
model slice its labels come from is held out. :func:`crop_slab` cuts one contiguous run out of a
loaded case; each run is scored as its own case, named ``ID#zA-B``.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace

import numpy as np

from vqseg_core.data.layouts import Case
from vqseg_core.data.preprocess import Recipe
from vqseg_core.evaluation.common import LoadedCase, load_case


def parse_range(text: str) -> tuple[int, int]:
    """``"A:B"`` -> ``(A, B)`` (a half-open slice range, ``0 <= A < B``)."""
    try:
        start, stop = (int(v) for v in text.split(":"))
    except ValueError as exc:
        raise ValueError(f"slice ranges look like 'start:stop', got {text!r}") from exc
    if not 0 <= start < stop:
        raise ValueError(f"slice range {text!r} is empty or negative")
    return start, stop


def input_slices_for(
    recipe: Recipe,
    shape: Sequence[int],
    spacing: Sequence[float],
    model_ranges: Sequence[str],
) -> list[tuple[int, int]]:
    """Contiguous input-grid ranges (last axis) whose labels come from held-out model slices.

    Args:
        recipe: the pair's preprocessing recipe (3D).
        shape, spacing: the input volume's shape and mm per axis.
        model_ranges: ``"A:B"`` ranges on the model grid's last axis (``data.val_slices``).
    """
    n_in = int(shape[-1])
    n_model = recipe.model_shape(tuple(shape), tuple(spacing))[-1]
    held = np.zeros(n_model, dtype=bool)
    for text in model_ranges:
        start, stop = parse_range(text)
        held[start:stop] = True
    # the model slice each input slice takes its labels from (index volume, 1 x 1 x Z)
    index = np.arange(n_model, dtype=np.int32).reshape(1, 1, n_model)
    from vqseg_core.data.resample import resize_labels

    source = resize_labels(index, (1, 1, n_in))[0, 0]
    mask = held[source]
    runs, start = [], None
    for z, inside in enumerate([*mask, False]):
        if inside and start is None:
            start = z
        elif not inside and start is not None:
            runs.append((start, z))
            start = None
    return runs


def crop_slab(case: LoadedCase, start: int, stop: int) -> LoadedCase:
    """Axial slices ``start:stop`` (last axis) of a loaded volume, as a case ``ID#zA-B``."""
    if case.array.ndim != 3:
        raise ValueError(f"case {case.case_id}: slabs need a 3D volume, got {case.array.shape}")
    n = case.array.shape[-1]
    if not 0 <= start < stop <= n:
        raise ValueError(f"case {case.case_id}: slab {start}:{stop} outside 0:{n}")
    return replace(
        case,
        case_id=f"{case.case_id}#z{start}-{stop}",
        array=case.array[..., start:stop],
        labels=case.labels[..., start:stop],
    )


def slab_cases(cases: Sequence[Case], recipe: Recipe, model_ranges: Sequence[str]) -> list[Case]:
    """Each volume case split into its held-out slabs: cases ``ID#zA-B`` with ``extra["slab"]``.

    :func:`~vqseg_core.evaluation.common.load_case` crops a case carrying ``extra["slab"]``.

    Raises:
        ValueError: a 2D case, or a case with no held-out slice.
    """
    out = []
    for case in cases:
        loaded = load_case(case)
        if loaded.array.ndim != 3:
            raise ValueError(f"case {case.case_id}: --val-slices needs 3D volumes")
        runs = input_slices_for(recipe, loaded.array.shape, loaded.spacing, model_ranges)
        if not runs:
            raise ValueError(f"case {case.case_id}: no input slice maps into {list(model_ranges)}")
        for start, stop in runs:
            out.append(
                replace(
                    case,
                    case_id=f"{case.case_id}#z{start}-{stop}",
                    extra={**case.extra, "slab": (start, stop)},
                )
            )
    return out
