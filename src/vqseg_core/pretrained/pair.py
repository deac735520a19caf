"""The pair API of earlier versions, kept for existing code: a pair is a two-member model set.

``load_pair(name)`` (see :mod:`vqseg_core.pretrained.registry`) and
:func:`load_pair_from_files` return a :class:`~vqseg_core.modelset.ModelSet` whose keys are
``"unet"`` and ``"vqunet"``; ``pair.predict(array, spacing)`` gives ``{"unet": labels,
"vqunet": labels}``, ``pair.models``, ``pair.sha256``, ``pair.recipe``, ``pair.classes`` and
``pair.predictor(key)`` work as before. New code uses model sets directly.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vqseg_core.data.preprocess import Recipe
from vqseg_core.modelset import Member, ModelSet, set_from_files
from vqseg_core.modelset.member import PALETTE, default_name

MODEL_KEYS = ("unet", "vqunet")


class ModelPair(ModelSet):
    """A model set built with the constructor of earlier versions.

    ``ModelPair(name, {"unet": net, "vqunet": net}, recipe, classes, sha256, patch_size, info)``
    gives a :class:`~vqseg_core.modelset.ModelSet` whose members are those networks, in that
    order, with the shared recipe, classes and patch size.
    """

    def __init__(
        self,
        name: str,
        models: dict[str, Any],
        recipe: Recipe,
        classes: dict[int, str],
        sha256: dict[str, str],
        patch_size: tuple[int, ...] | None = None,
        info: dict[str, Any] | None = None,
    ) -> None:
        members = tuple(
            Member(key, default_name(key, key), key, PALETTE[i % len(PALETTE)], model,
                   sha256.get(key, ""), dict(classes), recipe,
                   tuple(patch_size) if patch_size else None)
            for i, (key, model) in enumerate(models.items())
        )  # fmt: skip
        super().__init__(name, members, dict(info or {}))


def load_pair_from_files(
    unet: str | Path,
    vqunet: str | Path,
    name: str | None = None,
    info: dict[str, Any] | None = None,
) -> ModelSet:
    """A pair from two ``vqseg-train`` exports (``NAME.json`` or ``NAME.safetensors`` each).

    Raises:
        CheckpointError: a file is missing, corrupt, or not the kind it should be.
        ValueError: not a UNet and a VQ-UNet, or trained with different preprocessing or classes.
    """
    pair = set_from_files([unet, vqunet], name or Path(vqunet).stem, keys=MODEL_KEYS, info=info)
    kinds = {m.key: m.kind for m in pair}
    if kinds != {"unet": "unet", "vqunet": "vqunet"}:
        raise ValueError(f"expected a UNet and a VQ-UNet, got {kinds}")
    if pair.member("unet").recipe != pair.member("vqunet").recipe:
        raise ValueError("the two models were trained with different preprocessing")
    return pair
