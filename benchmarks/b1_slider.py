"""B1: one slider update of the Robustness Explorer, product path vs the same models run naively.

Product: :func:`vqseg_core.robustness.analyse` exactly as the explorer's worker calls it on a
slider move (bundled ``chest-xray`` pair, the bundled 512 x 512 chest X-ray and its lung mask,
Gaussian noise at 10 %, the explorer's default 4 draws, CPU, ``precision="auto"``: bf16
autocast + channels-last for the label pass; latents in float32 as the product requires).
Baseline: the same call with ``precision="fp32"`` on a second copy of the same weights (float32,
eager, default memory format throughout). Both are timed alternately in one process.

Accuracy: label maps of both models agree on >= 99.9 % of pixels between the two paths.
Details also hold the masks-only ratio (``ModelPair.predict``: one forward pass per model) and a
cProfile of the product's slider update (what limits the ratio).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from benchmarks.common import (
    chest_xray,
    cprofile_top,
    interleaved_medians,
    result,
    torch_info,
    torch_profile,
)

ID = "B1"
TARGET = 4.0
AGREEMENT = 0.999
SETTINGS = {"kind": "gaussian", "level": 10.0, "seed": 0, "n_draws": 4}


def run(quick: bool) -> dict[str, Any]:
    """Time the slider update (and masks alone) fast vs naive; check the masks agree."""
    from vqseg_core.pretrained import load_pair
    from vqseg_core.robustness import analyse

    image, mask, spacing = chest_xray()
    # two copies of the weights: a Predictor converts its model's memory format in place
    fast_pair, naive_pair = load_pair("chest-xray"), load_pair("chest-xray")

    def update(pair, precision: str):
        return analyse(
            pair, image, spacing, ground_truth=mask, device="cpu", precision=precision, **SETTINGS
        )

    repeats = 4 if quick else 8
    slider = interleaved_medians(
        {"fast": lambda: update(fast_pair, "auto"), "naive": lambda: update(naive_pair, "fp32")},
        repeats,
    )
    masks = interleaved_medians(
        {
            "fast": lambda: fast_pair.predict(image, spacing, device="cpu"),
            "naive": lambda: naive_pair.predict(image, spacing, device="cpu", precision="fp32"),
        },
        repeats if quick else repeats * 2,
    )
    fast_view, naive_view = update(fast_pair, "auto"), update(naive_pair, "fp32")
    agreement = {
        key: float(np.mean(fast_view.models[key].labels == naive_view.models[key].labels))
        for key in ("unet", "vqunet")
    }
    clean_fast = fast_pair.predict(image, spacing, device="cpu")
    clean_naive = naive_pair.predict(image, spacing, device="cpu", precision="fp32")
    clean_agreement = {k: float(np.mean(clean_fast[k] == clean_naive[k])) for k in clean_fast}
    latents_equal = all(
        np.allclose(
            fast_view.models[k].latent_variance,
            naive_view.models[k].latent_variance,
            rtol=1e-4,
            atol=1e-7,
        )
        for k in ("unet", "vqunet")
    )
    ratio = slider["naive"]["median_s"] / slider["fast"]["median_s"]
    accuracy = {
        "mask_agreement": agreement,
        "required": AGREEMENT,
        "mask_agreement_clean_image": clean_agreement,
        "latent_variance_allclose": bool(latents_equal),
        "dice_fast": {k: v.scores for k, v in fast_view.models.items()},
        "dice_naive": {k: v.scores for k, v in naive_view.models.items()},
        "ok": min(agreement.values()) >= AGREEMENT,
    }
    details: dict[str, Any] = {
        "settings": SETTINGS,
        "image_shape": list(image.shape),
        "model_shape": list(fast_pair.recipe.target_shape or ()),
        "slider_update_s": slider,
        "masks_only_s": masks,
        "masks_only_ratio": masks["naive"]["median_s"] / masks["fast"]["median_s"],
        "torch": torch_info(),
    }
    if ratio < TARGET:
        details["profile_fast_cprofile"] = cprofile_top(
            lambda: update(fast_pair, "auto"), 16, "vqseg_core"
        )
        details["profile_fast_torch_ops"] = torch_profile(lambda: update(fast_pair, "auto"))
        details["profile_naive_torch_ops"] = torch_profile(lambda: update(naive_pair, "fp32"))
    return result(
        ID,
        "slider update: both chest models, 512x512 X-ray, CPU (analyse, 4 draws)",
        "same call, float32, eager, default memory format",
        ratio,
        TARGET,
        accuracy,
        details,
    )
