"""A UNet and a VQ-UNet trained with the same recipe and seed, with their preprocessing."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import torch

from vqseg_core.checkpoint import CheckpointError, load_state_dict_strict
from vqseg_core.data.preprocess import PreprocessContext, Recipe
from vqseg_core.inference import Prediction, Predictor
from vqseg_core.models import ModelConfig, UNet, build_model
from vqseg_core.train.config import config_from_dict
from vqseg_core.train.dataset import training_recipe
from vqseg_core.volume import CancelFn, resampled_index
from vqseg_core.weights import load_weights

MODEL_KEYS = ("unet", "vqunet")


@dataclass
class ModelPair:
    """Two networks and the preprocessing they were trained with.

    Attributes:
        name: the pair's name.
        models: ``{"unet": UNet, "vqunet": VQUNet}`` in eval mode.
        recipe: the preprocessing both were trained with.
        classes: label value -> name (background 0 implied), e.g. ``{1: "lungs", 2: "heart"}``.
        sha256: ``{"unet": ..., "vqunet": ...}`` of the weight files.
        patch_size: sliding-window size for volumes (``None`` for 2D).
        info: free-form metadata (training data, validation Dice, caveats).
    """

    name: str
    models: dict[str, UNet]
    recipe: Recipe
    classes: dict[int, str]
    sha256: dict[str, str]
    patch_size: tuple[int, ...] | None = None
    info: dict[str, Any] = field(default_factory=dict)
    _predictors: dict[tuple[str, str, str], Predictor] = field(default_factory=dict, repr=False)

    @property
    def spatial_dims(self) -> int:
        """Dimensions of the images the pair takes: 2 or 3 (a 2D network runs a volume slice by slice)."""
        return int(self.recipe.spatial_dims)

    @property
    def model_dims(self) -> int:
        """Dimensions of the networks themselves."""
        return int(self.models["unet"].spatial_dims)

    def predictor(
        self, key: str, device: str | torch.device = "auto", precision: str = "auto"
    ) -> Predictor:
        """The (cached) :class:`Predictor` of model ``key`` on ``device``."""
        cache_key = (key, str(device), precision)
        if cache_key not in self._predictors:
            self._predictors[cache_key] = Predictor(
                self.models[key], device, precision, self.patch_size
            )
        return self._predictors[cache_key]

    def preprocess(
        self, array: np.ndarray, spacing: Sequence[float] | None = None
    ) -> tuple[np.ndarray, PreprocessContext]:
        """Map a raw image to the model frame: ``(1, *model_shape)`` float32 and its context."""
        arr = np.asarray(array, dtype=np.float32)
        if arr.ndim != self.recipe.spatial_dims:
            raise ValueError(
                f"pair {self.name!r} expects a {self.recipe.spatial_dims}D image, got shape {arr.shape}"
            )
        spacing = tuple(spacing) if spacing is not None else (1.0,) * arr.ndim
        x, ctx = self.recipe.apply(arr, spacing)
        return x[None], ctx

    def forward(
        self,
        x: np.ndarray | torch.Tensor,
        device: str | torch.device = "auto",
        precision: str = "auto",
    ) -> dict[str, Prediction]:
        """Both networks on model-frame input ``(C, *shape)`` or ``(B, C, *shape)``."""
        t = (
            torch.as_tensor(np.asarray(x, dtype=np.float32))
            if not isinstance(x, torch.Tensor)
            else x.float()
        )
        if t.ndim == self.spatial_dims + 1:
            t = t[None]
        return {k: self.predictor(k, device, precision).forward(t) for k in MODEL_KEYS}

    def predict(
        self,
        array: np.ndarray,
        spacing: Sequence[float] | None = None,
        device: str | torch.device = "auto",
        precision: str = "auto",
        *,
        focus: int | None = None,
        cancel: CancelFn | None = None,
    ) -> dict[str, np.ndarray]:
        """Label maps of both networks on the input's own grid.

        Volumes run slab by slab (:meth:`Predictor.predict_volume`): labels only, never the
        ``K x volume`` logits.

        Args:
            array: the raw image, ``(H, W)`` or ``(X, Y, Z)``, as :func:`vqseg_core.io.load_image` gives it.
            spacing: mm per axis (default 1 mm).
            device, precision: see :class:`~vqseg_core.inference.Predictor`.
            focus: for a volume, the axial slice (last axis, input grid) to finish first.
            cancel: returns True to abort (:class:`~vqseg_core.volume.Cancelled`).

        Returns:
            ``{"unet": labels, "vqunet": labels}``, uint8 arrays of ``array``'s shape.
        """
        x, ctx = self.preprocess(array, spacing)
        fm = None
        if focus is not None and x.ndim == 4:
            fm = resampled_index(focus, ctx.original_shape[-1], ctx.model_shape[-1])
        out = {}
        for key in MODEL_KEYS:
            predictor = self.predictor(key, device, precision)
            labels = predictor.predict_labels(x, focus=fm, cancel=cancel).astype(np.uint8)
            out[key] = self.recipe.invert_labels(labels, ctx)
        return out


def _model_from_weights(path: Path) -> tuple[UNet, dict[str, Any], str]:
    state, config = load_weights(path)
    try:
        train_cfg = config_from_dict(
            {k: v for k, v in config.items() if k not in ("classes", "validation_dice")}
        )
    except (TypeError, ValueError) as exc:
        raise CheckpointError(path, f"its config is not a vqseg-train config: {exc}") from exc
    model = build_model(ModelConfig.from_dict(train_cfg.model.to_dict()))
    load_state_dict_strict(model, state, path)
    import json

    sha = json.loads(Path(path).with_suffix(".json").read_text(encoding="utf-8"))["sha256"]
    return model.eval(), config, sha


def load_pair_from_files(
    unet: str | Path,
    vqunet: str | Path,
    name: str | None = None,
    info: dict[str, Any] | None = None,
) -> ModelPair:
    """A pair from two ``vqseg-train`` exports (``NAME.json`` or ``NAME.safetensors`` each).

    Raises:
        CheckpointError: a file is missing, corrupt, or not the kind it should be.
        ValueError: the two were trained with different preprocessing or classes.
    """
    models, configs, hashes = {}, {}, {}
    for key, path in (("unet", Path(unet)), ("vqunet", Path(vqunet))):
        models[key], configs[key], hashes[key] = _model_from_weights(path)
    kinds = {k: configs[k]["model"]["kind"] for k in MODEL_KEYS}
    if kinds != {"unet": "unet", "vqunet": "vqunet"}:
        raise ValueError(f"expected a UNet and a VQ-UNet, got {kinds}")
    data = {k: config_from_dict({"data": configs[k]["data"]}).data for k in MODEL_KEYS}
    recipes = {k: training_recipe(d) for k, d in data.items()}
    if recipes["unet"] != recipes["vqunet"]:
        raise ValueError("the two models were trained with different preprocessing")
    classes = {int(k): str(v) for k, v in configs["vqunet"].get("classes", {}).items()}
    three_d = recipes["vqunet"].spatial_dims == 3 and models["vqunet"].spatial_dims == 3
    patch = data["vqunet"].patch_size if three_d else None
    details = {"validation_dice": {k: configs[k].get("validation_dice") for k in MODEL_KEYS}}
    details.update(info or {})
    return ModelPair(
        name=name or Path(vqunet).stem,
        models=models,
        recipe=recipes["vqunet"],
        classes=classes,
        sha256=hashes,
        patch_size=tuple(patch) if patch else None,
        info=details,
    )
