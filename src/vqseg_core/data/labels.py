"""Label maps checked at the door: integer values, and only the classes the model knows.

A mask saved as 0/255, a palette PNG, a label 7 for a two-class model or a -1 would otherwise
reach training as an index error deep in ``one_hot`` (no file, no value named) and evaluation
as a table of ``nan`` scores with exit status 0. Every label file is checked where it enters:

* :func:`integer_labels`: the file's values are finite integers (``0.5``, ``NaN`` and
  ``1e30`` are refused; ``0.9999999`` from a float NIfTI is rounded);
* :func:`check_labels`: every value is background ``0`` or a class of the model; the message
  names the file, the unexpected values with their voxel counts, the classes, and how to map
  them (``data.label_map``, e.g. ``{255: 1}``);
* :func:`check_label_map` / :func:`apply_label_map`: the opt-in mapping itself (targets must be
  classes; values it does not list become background, as before);
* :func:`check_classes_fit`: the classes are outputs of the network (three classes are not
  accepted for a two-output model).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

import numpy as np

LABEL_RANGE = (-(2**31), 2**31 - 1)
"""Label values must lie in the int32 range (larger floats lose their integer meaning)."""

ROUNDING_TOLERANCE = 1e-3
"""Float labels within this of an integer are rounded to it (scaled NIfTI); others refused."""

_SHOWN = 8  # unexpected values listed in a message


class LabelError(ValueError):
    """A label map holds values the model cannot learn or be scored on (message names the file).

    Attributes:
        source: the label file (or case) concerned.
        values: the unexpected label values (empty for non-integer data).
    """

    def __init__(self, source: str, cause: str, values: Collection[int] = ()) -> None:
        super().__init__(f"{source}: {cause}")
        self.source = source
        self.values = tuple(int(v) for v in values)

    def __reduce__(self) -> tuple[type, tuple[Any, ...]]:
        return _rebuild, (str(self), self.source, self.values)


def _rebuild(message: str, source: str, values: tuple[int, ...]) -> LabelError:
    err = LabelError.__new__(LabelError)
    ValueError.__init__(err, message)
    err.source, err.values = source, values
    return err


def integer_labels(array: Any, source: str) -> np.ndarray:
    """``array`` as int64 labels, refusing values that are not integers of the int32 range.

    Args:
        array: the label image's values (any numeric dtype).
        source: the label file, for the message.

    Raises:
        LabelError: NaN/inf, values farther than :data:`ROUNDING_TOLERANCE` from an integer
            (e.g. an interpolated mask or a probability map), or values outside
            :data:`LABEL_RANGE`; the message gives an example value and the voxel count.
    """
    a = np.asarray(array)
    if a.dtype == bool:
        return a.astype(np.int64)
    if not (np.issubdtype(a.dtype, np.integer) or np.issubdtype(a.dtype, np.floating)):
        raise LabelError(source, f"labels must be numbers, got dtype {a.dtype}")
    if a.size == 0:
        return a.astype(np.int64)
    if np.issubdtype(a.dtype, np.floating):
        bad = ~np.isfinite(a)
        if bad.any():
            raise LabelError(source, f"{int(bad.sum())} label voxels are NaN or infinite")
        rounded = np.rint(a)
        off = np.abs(a - rounded) > ROUNDING_TOLERANCE
        if off.any():
            example = float(a[off].flat[0])
            raise LabelError(
                source,
                f"{int(off.sum())} label voxels are not integers (e.g. {example:g}): a label "
                "file holds class numbers, not colours (a palette or RGB mask read as grey), "
                "an interpolated mask or a probability map",
            )
        a = rounded
    lo, hi = a.min(), a.max()
    if lo < LABEL_RANGE[0] or hi > LABEL_RANGE[1]:
        example = lo if lo < LABEL_RANGE[0] else hi
        raise LabelError(
            source,
            f"label value {float(example):g} is outside {LABEL_RANGE[0]}..{LABEL_RANGE[1]}",
            (),
        )
    return a.astype(np.int64)


def unexpected_values(labels: np.ndarray, allowed: Collection[int]) -> dict[int, int]:
    """``{value: voxel count}`` of the values of integer ``labels`` not in ``allowed``.

    One pass (``min``/``max`` then ``bincount``) when the values are small and non-negative.
    """
    a = np.asarray(labels)
    if a.size == 0:
        return {}
    allowed_set = {int(v) for v in allowed}
    lo, hi = int(a.min()), int(a.max())
    if lo >= 0 and hi < 2**16:
        counts = np.bincount(a.ravel().astype(np.int64, copy=False), minlength=hi + 1)
        values = np.flatnonzero(counts)
        return {int(v): int(counts[v]) for v in values if int(v) not in allowed_set}
    values, counts = np.unique(a, return_counts=True)
    return {int(v): int(c) for v, c in zip(values, counts, strict=True) if int(v) not in allowed_set}


def describe_classes(classes: Mapping[int, str] | Collection[int]) -> str:
    """``"0 = background, 1 = lungs, 2 = heart"`` (or the bare values without names)."""
    if isinstance(classes, Mapping):
        named = [f"{int(v)} = {n}" for v, n in sorted(classes.items()) if int(v) != 0]
    else:
        named = [str(int(v)) for v in sorted(classes) if int(v) != 0]
    return ", ".join(["0 = background", *named])


def check_labels(
    labels: np.ndarray,
    classes: Mapping[int, str] | Collection[int],
    source: str,
    *,
    hint: str | None = None,
) -> None:
    """Refuse label values that are neither background ``0`` nor one of ``classes``.

    Args:
        labels: integer label map (:func:`integer_labels`).
        classes: the model's classes (value -> name, or the values).
        source: the label file (or case), for the message.
        hint: how to map values (default: the training config's ``data.label_map``).

    Raises:
        LabelError: naming ``source``, the unexpected values with their voxel counts, the
            classes, and the hint.
    """
    allowed = {0, *(int(v) for v in classes)}
    found = unexpected_values(labels, allowed)
    if not found:
        return
    shown = sorted(found)[:_SHOWN]
    listing = ", ".join(f"{v} ({found[v]} voxels)" for v in shown)
    more = f" and {len(found) - len(shown)} more" if len(found) > len(shown) else ""
    example = {shown[0]: min((int(v) for v in classes if int(v) != 0), default=1)}
    if hint is None:
        hint = (
            "name the classes in data.labels, or map the values onto classes with "
            f"data.label_map (e.g. --set 'data.label_map={example}'; values it does not list "
            "become 0)"
        )
    raise LabelError(
        source,
        f"label values {listing}{more} are not classes of this model "
        f"({describe_classes(classes)}); {hint}",
        found,
    )


def check_label_map(
    label_map: Mapping[int, int],
    classes: Mapping[int, str] | Collection[int],
    source: str = "data.label_map",
) -> dict[int, int]:
    """The mapping as ints, refusing targets that are neither background nor a class.

    Raises:
        LabelError: naming ``source`` and the targets that are not classes.
    """
    try:
        mapping = {int(k): int(v) for k, v in dict(label_map).items()}
    except (TypeError, ValueError) as exc:
        raise LabelError(source, f"must map label values to label values: {exc}") from exc
    allowed = {0, *(int(v) for v in classes)}
    bad = sorted({v for v in mapping.values() if v not in allowed})
    if bad:
        raise LabelError(
            source,
            f"maps onto {bad}, which are not classes of this model ({describe_classes(classes)})",
            bad,
        )
    return mapping


def apply_label_map(labels: np.ndarray, label_map: Mapping[int, int]) -> np.ndarray:
    """``labels`` with each ``source`` value replaced by its target; unlisted values become 0."""
    y = np.asarray(labels)
    mapped = np.zeros_like(y)
    for src, dst in label_map.items():
        mapped[y == src] = dst
    return mapped


def check_classes_fit(
    classes: Mapping[int, str] | Collection[int], outputs: int, source: str = "data.labels"
) -> None:
    """Refuse classes that are not outputs of a network with ``outputs`` channels.

    Raises:
        LabelError: naming ``source`` and the classes outside ``1..outputs - 1``.
    """
    bad = sorted(int(v) for v in classes if not 1 <= int(v) < int(outputs))
    if bad:
        raise LabelError(
            source,
            f"classes {bad} are not outputs of a network with out_channels={outputs} "
            f"(background 0 and classes 1..{int(outputs) - 1}); raise model.out_channels or "
            "drop those classes",
            bad,
        )
