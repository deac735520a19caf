"""Validation during training: Dice per class on whole held-out cases."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence

import numpy as np
import torch

from vqseg_core.metrics import dice_per_class
from vqseg_core.train.data import Sample


def predict_labels(
    model: torch.nn.Module,
    image: np.ndarray,
    device: torch.device,
    amp_dtype: torch.dtype | None,
    patch_size: Sequence[int] | None = None,
) -> np.ndarray:
    """Label map ``(*spatial)`` for one image ``(C, *spatial)``; sliding window when patched."""
    x = torch.from_numpy(np.ascontiguousarray(image))[None].to(device)
    with (
        torch.inference_mode(),
        torch.autocast(
            device.type, dtype=amp_dtype or torch.float32, enabled=amp_dtype is not None
        ),
    ):
        if patch_size is not None and any(
            p < n for p, n in zip(patch_size, image.shape[1:], strict=True)
        ):
            from monai.inferers import sliding_window_inference

            logits = sliding_window_inference(
                x, tuple(patch_size), sw_batch_size=2, predictor=model, overlap=0.25
            )
        else:
            logits = model(x)
    return logits.argmax(1)[0].cpu().numpy()


def validate(
    model: torch.nn.Module,
    samples: Sequence[Sample],
    labels: Mapping[int, str],
    device: torch.device,
    amp_dtype: torch.dtype | None,
    patch_size: Sequence[int] | None = None,
) -> dict[str, float]:
    """Mean Dice per class name over the validation cases.

    Samples cut from one case (slices of a volume: ids ``CASE#z12``) are pooled into that case
    before scoring, so a slice split reports volume Dice, not a mean over slices (where every
    slice without a structure but with a few false positives would count as Dice 0). Voxels
    labelled below 0 are not scored. The mean over cases ignores cases where a class is absent
    from both prediction and truth.
    """
    was_training = model.training
    model.eval()
    pooled: dict[str, tuple[list[np.ndarray], list[np.ndarray]]] = {}
    for s in samples:
        pred = predict_labels(model, s.image, device, amp_dtype, patch_size)
        keep = s.label >= 0
        preds, truths = pooled.setdefault(s.case_id.split("#")[0], ([], []))
        preds.append(pred[keep].ravel())
        truths.append(s.label[keep].ravel())
    model.train(was_training)
    per_class: dict[str, list[float]] = {name: [] for name in labels.values()}
    for preds, truths in pooled.values():
        scores = dice_per_class(np.concatenate(preds), np.concatenate(truths), labels=list(labels))
        for value, name in labels.items():
            d = scores.get(value, float("nan"))
            if not math.isnan(d):
                per_class[name].append(d)
    return {name: float(np.mean(v)) if v else float("nan") for name, v in per_class.items()}
