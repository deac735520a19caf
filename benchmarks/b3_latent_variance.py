"""B3: latent variance over 100 noise draws of one image, batched (product) vs a Python loop.

Retired as a target (issue 13): on 2 CPU cores one float32 image already keeps both cores busy,
so batching cannot pay; the number is still recorded. What users wait for is measured by B1b
(the whole slider update, latents included, against the naive update). Full runs only
(``FULL_ONLY``): ``make bench QUICK=1`` leaves it out.

Product: :func:`vqseg_core.robustness.run_draws` (what ``analyse`` and ``vqseg-eval`` run:
draws encoded ``batch_size`` at a time in float32, channels-last on this CPU) followed by
:func:`vqseg_core.analysis.latent.latent_variance`. Baseline: a Python loop over the draws,
``model.encode`` one draw at a time (float32, default memory format), then the same variance.
Model: the bundled ``chest-xray`` VQ-UNet; input: the bundled 512 x 512 chest X-ray under
100 Gaussian draws at 10 % (model frame 256 x 256).

Accuracy: the variance maps (raw features and quantised latents) agree to float32 rounding
(``allclose``, rtol 1e-4, atol 1e-7); bit equality is not expected (different batch shapes run
different kernels; float32 either way).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from benchmarks.common import chest_xray, interleaved_medians, result, torch_info, torch_profile

ID = "B3"
FULL_ONLY = True  # retired target: recorded by full runs, left out of --quick
TARGET = 3.0
N_DRAWS = 100
BATCH = 8  # analyse()'s default


def run(quick: bool) -> dict[str, Any]:
    """Time batched vs looped latent variance over 100 draws; compare the maps."""
    import torch

    from vqseg_core.analysis.latent import latent_variance
    from vqseg_core.perturb import Corruption
    from vqseg_core.pretrained import load_pair
    from vqseg_core.robustness import make_draws, prepare, run_draws

    image, _mask, spacing = chest_xray()
    fast, naive = load_pair("chest-xray"), load_pair("chest-xray")
    prepared = prepare(fast, image, spacing)
    draws = make_draws(prepared, Corruption("gaussian", 10.0, 0), N_DRAWS)
    predictor = fast.predictor("vqunet", "cpu")
    model = naive.models["vqunet"].eval()

    def batched(x: np.ndarray = draws) -> tuple[torch.Tensor, torch.Tensor]:
        out = run_draws(predictor, x, latents=True, batch_size=BATCH)
        assert out.features is not None and out.quantized is not None
        return latent_variance(out.features), latent_variance(out.quantized)

    def looped(x: np.ndarray = draws) -> tuple[torch.Tensor, torch.Tensor]:
        feats, quant = [], []
        with torch.inference_mode():
            for d in range(x.shape[0]):
                enc = model.encode(torch.from_numpy(x[d : d + 1]))
                feats.append(enc.features)
                quant.append(enc.quantized)
        return latent_variance(torch.cat(feats)), latent_variance(torch.cat(quant))

    small = draws[: 2 * BATCH]  # warm-up: creates the kernels of both batch shapes
    batched(small)
    looped(small)
    timing = interleaved_medians({"batched": batched, "loop": looped}, 1 if quick else 3, 0)
    (fv, qv), (fl, ql) = batched(), looped()
    diff = {
        "features_max_abs": float((fv - fl).abs().max()),
        "features_max": float(fl.abs().max()),
        "quantized_max_abs": float((qv - ql).abs().max()),
        "features_bit_equal": bool(torch.equal(fv, fl)),
        "quantized_bit_equal": bool(torch.equal(qv, ql)),
    }
    ok = bool(
        torch.allclose(fv, fl, rtol=1e-4, atol=1e-7)
        and torch.allclose(qv, ql, rtol=1e-4, atol=1e-7)
    )
    ratio = timing["loop"]["median_s"] / timing["batched"]["median_s"]
    details: dict[str, Any] = {
        "n_draws": N_DRAWS,
        "batch_size": BATCH,
        "latent_shape": list(fv.shape),
        "timing": timing,
        "torch": torch_info(),
    }
    if ratio < TARGET:
        few = draws[: 2 * BATCH]
        details["profile_batched_16_draws"] = torch_profile(lambda: batched(few), 10)
        details["profile_loop_16_draws"] = torch_profile(lambda: looped(few), 10)
    return result(
        ID,
        f"latent variance, {N_DRAWS} noise draws, one image (batched run_draws)",
        "Python loop over the draws (encode one at a time)",
        ratio,
        TARGET,
        {**diff, "rtol": 1e-4, "atol": 1e-7, "ok": ok},
        details,
    )
