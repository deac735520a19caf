"""A named, ordered set of 1-6 models compared side by side.

The set is the product's central object: the explorer shows one panel per member, the run
engine (:mod:`vqseg_core.engine`) runs every member on the same corrupted draws, and
``vqseg-eval`` writes one row per member. Keys come from the set (``set.keys``), never from
literals. A two-member set of a UNet and a VQ-UNet is what earlier versions called a *pair*
(:class:`~vqseg_core.pretrained.ModelPair` is this class).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from vqseg_core.data.preprocess import PreprocessContext, Recipe
from vqseg_core.modelset.member import Member

MAX_MEMBERS = 6


@dataclass(eq=False)
class ModelSet:
    """Members in display order (the first is the default reference for disagreement).

    Args:
        name: the set's name (a bundled name, or one made from the files).
        members: 1-6 :class:`Member` objects with distinct keys and the same image
            dimensionality.
        info: free-form metadata (training data, caveats).

    Raises:
        ValueError: no member, more than six, duplicate keys, members that take images of
            different dimensionality, or members that disagree on a class (one label value
            with two names, or one name on two values; both members named).
    """

    name: str
    members: tuple[Member, ...]
    info: dict[str, Any] = field(default_factory=dict)
    _predictors: dict[tuple[str, str, str], Any] = field(default_factory=dict, repr=False)

    def __post_init__(self) -> None:
        self.members = tuple(self.members)
        if not 1 <= len(self.members) <= MAX_MEMBERS:
            raise ValueError(f"a model set has 1-{MAX_MEMBERS} models, got {len(self.members)}")
        keys = [m.key for m in self.members]
        if len(set(keys)) != len(keys):
            raise ValueError(f"model keys must be distinct, got {keys}")
        _check_classes_agree(self.name, self.members)
        dims = {m.spatial_dims for m in self.members}
        if len(dims) > 1:
            raise ValueError(
                f"the models of set {self.name!r} take images of different dimensionality: "
                + ", ".join(f"{m.key} {m.spatial_dims}D" for m in self.members)
            )

    # ---- the members -----------------------------------------------------------------------
    @property
    def keys(self) -> tuple[str, ...]:
        """Member keys in order."""
        return tuple(m.key for m in self.members)

    def member(self, key: str) -> Member:
        """The member ``key`` (``KeyError`` naming the set's keys otherwise)."""
        for m in self.members:
            if m.key == key:
                return m
        raise KeyError(f"set {self.name!r} has no model {key!r}; its models: {', '.join(self.keys)}")

    def __iter__(self) -> Iterator[Member]:
        return iter(self.members)

    def __len__(self) -> int:
        return len(self.members)

    def __contains__(self, key: object) -> bool:
        return key in self.keys

    def subset(self, keys: Iterable[str], name: str | None = None) -> ModelSet:
        """A set of some members, in the order given (``KeyError`` for an unknown key)."""
        chosen = tuple(self.member(k) for k in keys)
        sub = ModelSet(name or self.name, chosen, dict(self.info))
        sub._predictors = {k: p for k, p in self._predictors.items() if k[0] in sub.keys}
        return sub

    @property
    def id(self) -> str:
        """A short stable id of the weights: the name and the first 8 hex digits of each hash.

        For a UNet / VQ-UNet pair this is the id earlier versions wrote (``name@abcd1234-...``).
        """
        return f"{self.name}@" + "-".join(m.sha256[:8] for m in self.members)

    # ---- what the members share -----------------------------------------------------------
    @property
    def spatial_dims(self) -> int:
        """Dimensions of the images the set takes: 2 or 3."""
        return self.members[0].spatial_dims

    @property
    def model_dims(self) -> int:
        """Dimensions of the first network (2 for slice models run on volumes)."""
        return self.members[0].model_dims

    @property
    def recipe(self) -> Recipe:
        """The first member's preprocessing (every member's, when they share one)."""
        return self.members[0].recipe

    @property
    def classes(self) -> dict[int, str]:
        """Label value -> class name over all members (the first member's name wins)."""
        out: dict[int, str] = {}
        for m in self.members:
            for value, name in m.classes.items():
                out.setdefault(int(value), name)
        return dict(sorted(out.items()))

    @property
    def patch_size(self) -> tuple[int, ...] | None:
        """The first member's sliding-window size."""
        return self.members[0].patch_size

    @property
    def models(self) -> dict[str, Any]:
        """``{key: network}``."""
        return {m.key: m.model for m in self.members}

    @property
    def sha256(self) -> dict[str, str]:
        """``{key: sha256 of the weight file}``."""
        return {m.key: m.sha256 for m in self.members}

    # ---- running ----------------------------------------------------------------------------
    def predictor(self, key: str, device: Any = "auto", precision: str = "auto") -> Any:
        """The (cached) :class:`~vqseg_core.inference.Predictor` of member ``key``."""
        from vqseg_core.inference import Predictor

        cache_key = (key, str(device), precision)
        if cache_key not in self._predictors:
            m = self.member(key)
            self._predictors[cache_key] = Predictor(m.model, device, precision, m.patch_size)
        return self._predictors[cache_key]

    def backend_notes(self) -> list[str]:
        """What ran this set's label passes so far: each distinct
        :attr:`~vqseg_core.inference.Predictor.backend_note` of the predictors made (e.g. ONNX
        Runtime float32 on the CPU, or eager torch), for status bars and reports."""
        return sorted({p.backend_note for p in self._predictors.values()})

    def preprocess(
        self, array: np.ndarray, spacing: Sequence[float] | None = None, key: str | None = None
    ) -> tuple[np.ndarray, PreprocessContext]:
        """A raw image in member ``key``'s model frame (default the first): ``(1, *shape)``."""
        recipe = self.member(key).recipe if key is not None else self.recipe
        arr = np.asarray(array, dtype=np.float32)
        if arr.ndim != recipe.spatial_dims:
            raise ValueError(
                f"model set {self.name!r} expects a {recipe.spatial_dims}D image, "
                f"got shape {arr.shape}"
            )
        spacing = tuple(spacing) if spacing is not None else (1.0,) * arr.ndim
        x, ctx = recipe.apply(arr, spacing)
        return x[None], ctx

    def forward(self, x: Any, device: Any = "auto", precision: str = "auto") -> dict[str, Any]:
        """Every network on model-frame input ``(C, *shape)`` or ``(B, C, *shape)``."""
        import torch

        t = x.float() if isinstance(x, torch.Tensor) else torch.as_tensor(
            np.asarray(x, dtype=np.float32)
        )
        if t.ndim == self.model_dims + 1:
            t = t[None]
        return {k: self.predictor(k, device, precision).forward(t) for k in self.keys}

    def predict(
        self,
        array: np.ndarray,
        spacing: Sequence[float] | None = None,
        device: Any = "auto",
        precision: str = "auto",
        *,
        focus: int | None = None,
        cancel: Any = None,
    ) -> dict[str, np.ndarray]:
        """Label maps of every member on the input's own grid: ``{key: uint8 labels}``.

        Volumes run slab by slab (labels only, never the ``K x volume`` logits), the axial
        slice ``focus`` (input grid) first; ``cancel()`` returning True aborts
        (:class:`~vqseg_core.volume.Cancelled`).
        """
        from vqseg_core.volume import resampled_index

        out = {}
        done: list[tuple[Recipe, tuple[np.ndarray, PreprocessContext]]] = []
        for m in self.members:  # members that share a recipe share the preprocessed image
            prepared = next((xc for recipe, xc in done if recipe == m.recipe), None)
            if prepared is None:
                prepared = self.preprocess(array, spacing, m.key)
                done.append((m.recipe, prepared))
            x, ctx = prepared
            fm = None
            if focus is not None and x.ndim == 4:
                fm = resampled_index(focus, ctx.original_shape[-1], ctx.model_shape[-1])
            predictor = self.predictor(m.key, device, precision)
            labels = predictor.predict_labels(x, focus=fm, cancel=cancel).astype(np.uint8)
            out[m.key] = m.recipe.invert_labels(labels, ctx)
        return out

    def summary(self) -> dict[str, Any]:
        """JSON-able description (``settings.json``, reports)."""
        return {
            "name": self.name,
            "id": self.id,
            "models": [
                {"key": m.key, "name": m.name, "kind": m.kind, "sha256": m.sha256,
                 "classes": {str(k): v for k, v in m.classes.items()},
                 "recipe": m.recipe.to_dict(),
                 "patch_size": list(m.patch_size) if m.patch_size else None}
                for m in self.members
            ],
            "sha256": self.sha256,
            "recipe": self.recipe.to_dict(),
            "classes": {str(k): v for k, v in self.classes.items()},
            "patch_size": list(self.patch_size) if self.patch_size else None,
        }  # fmt: skip


def _check_classes_agree(name: str, members: Sequence[Member]) -> None:
    """Refuse members that give one label value two names, or one class name two values."""
    by_value: dict[int, tuple[str, str]] = {}  # value -> (member key, class name)
    by_name: dict[str, tuple[str, int]] = {}  # class name -> (member key, value)
    for m in members:
        for value, cls in m.classes.items():
            value, cls = int(value), str(cls)
            seen = by_value.setdefault(value, (m.key, cls))
            if seen[1] != cls:
                raise ValueError(
                    f"the models of set {name!r} disagree on label {value}: {seen[0]} calls it "
                    f"{seen[1]!r}, {m.key} calls it {cls!r}"
                )
            other = by_name.setdefault(cls.casefold(), (m.key, value))
            if other[1] != value:
                raise ValueError(
                    f"the models of set {name!r} disagree on class {cls!r}: {other[0]} has it "
                    f"as label {other[1]}, {m.key} as label {value}"
                )
