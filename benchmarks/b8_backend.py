"""B8: the CPU inference backend (``precision="auto"``) vs eager torch float32, and how close
both come to this CPU's limit.

Bundled chest pair, bundled 512 x 512 X-ray, CPU, the same thread count for every variant:

* ratio: ``ModelPair.predict`` (both masks, one pass per model) eager float32 / ``auto`` (ONNX
  Runtime float32 when the ``[onnx]`` extra is installed, see :mod:`vqseg_core.backends`);
* per model: one pass at the model grid (1 x 1 x 256 x 256) and a batch of 4 noisy draws,
  eager vs backend; forward FLOPs counted by ``torch.utils.flop_counter.FlopCounterMode``;
  achieved GFLOP/s of both against a 2048^3 float32 matrix multiply timed in the same run;
* the cost of the first use: export (a fresh cache folder) and session start, then a start
  from the disk cache;
* both at one thread (no OpenMP spinning: what the backend's kernels gain by themselves;
  with torch's default threads eager torch also loses time to spinning under load);
* bf16 autocast (eager) where the CPU has native bf16 (``avx512_bf16`` or AMX): its agreement
  and speed, recorded only (``precision="auto"`` never picks it on the CPU).

Accuracy: masks equal eager float32 on >= 99.99 % of pixels (image and draws, both models).
"""

from __future__ import annotations

import os
import tempfile
import time
from typing import Any

import numpy as np
from benchmarks.common import chest_xray, cpu_flags, interleaved_medians, result, torch_info

ID = "B8"
TARGET = 1.5
AGREEMENT = 0.9999


def matmul_gflops(n: int = 2048, repeats: int = 5) -> dict[str, float]:
    """GFLOP/s of an ``n``^3 float32 matrix multiply at torch's current threads (this CPU's
    practical limit; B1 imports it too)."""
    import torch

    a, b = torch.randn(n, n), torch.randn(n, n)
    times = interleaved_medians({"mm": lambda: torch.mm(a, b)}, repeats)["mm"]
    return {"n": n, "median_s": times["median_s"], "gflops": 2 * n**3 / times["median_s"] / 1e9}


def forward_flops(model: Any, x: Any) -> int:
    """FLOPs of one forward pass of ``model`` on ``x`` (``FlopCounterMode``: convolutions and
    matrix products)."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with torch.inference_mode(), FlopCounterMode(display=False) as counter:
        model(x)
    return int(counter.get_total_flops())


def _cold_start(image: np.ndarray, spacing: tuple[float, ...]) -> dict[str, Any]:
    """First use with an empty cache folder, then from the disk cache (fresh pair each time)."""
    from vqseg_core.backends import onnx
    from vqseg_core.pretrained import load_pair

    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        old = os.environ.get(onnx.CACHE_ENV)
        os.environ[onnx.CACHE_ENV] = tmp
        try:
            for label in ("empty_cache", "disk_cache"):
                onnx._files.clear()
                pair = load_pair("chest-xray")
                t0 = time.perf_counter()
                pair.predict(image, spacing, device="cpu")
                first = time.perf_counter() - t0
                runners = {k: pair.predictor(k, "cpu", "auto")._choice.runner for k in pair.keys}
                out[label] = {
                    "first_predict_s": round(first, 3),
                    "export_s": {
                        k: round(sum(r.export_seconds.values()), 3) if r else None
                        for k, r in runners.items()
                    },
                }
        finally:
            if old is None:
                os.environ.pop(onnx.CACHE_ENV, None)
            else:
                os.environ[onnx.CACHE_ENV] = old
    return out


def run(quick: bool) -> dict[str, Any]:
    """Time eager float32 vs the ``auto`` backend; count FLOPs; check the masks agree."""
    import torch

    from vqseg_core.perturb import corrupt
    from vqseg_core.pretrained import load_pair

    load_before = list(os.getloadavg())
    repeats = 2 if quick else 8
    image, _mask, spacing = chest_xray()
    cold = _cold_start(image, spacing)
    eager, fast = load_pair("chest-xray"), load_pair("chest-xray")
    notes = {k: fast.predictor(k, "cpu", "auto").backend_note for k in fast.keys}
    predict = interleaved_medians(
        {
            "eager_fp32": lambda: eager.predict(image, spacing, device="cpu", precision="fp32"),
            "auto": lambda: fast.predict(image, spacing, device="cpu"),
        },
        repeats,
    )
    a = fast.predict(image, spacing, device="cpu")
    b = eager.predict(image, spacing, device="cpu", precision="fp32")
    agreement: dict[str, float] = {f"{k}_image": float(np.mean(a[k] == b[k])) for k in a}
    x, _ctx = fast.preprocess(image, spacing)
    clean = torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None]
    draws = torch.from_numpy(
        np.stack([corrupt(x, "gaussian", 10.0, seed, spatial_dims=2) for seed in range(4)])
    ).float()
    matmul = matmul_gflops()
    per_model: dict[str, Any] = {}
    for key in fast.keys:
        pe = eager.predictor(key, "cpu", "fp32")
        pf = fast.predictor(key, "cpu", "auto")
        flops = forward_flops(pe.model, clean)
        timings = interleaved_medians(
            {
                "eager_1": lambda p=pe: p.forward(clean, with_encoding=False),
                "backend_1": lambda p=pf: p.forward(clean, with_encoding=False),
                "eager_4": lambda p=pe: p.forward(draws, with_encoding=False),
                "backend_4": lambda p=pf: p.forward(draws, with_encoding=False),
            },
            repeats,
        )
        from vqseg_core.threads import inference_threads

        with inference_threads(1):  # one thread each: no OpenMP spinning, compute alone
            single = interleaved_medians(
                {"eager": lambda p=pe: p.forward(clean, with_encoding=False),
                 "backend": lambda p=pf: p.forward(clean, with_encoding=False)}, repeats,
            )  # fmt: skip
        le = pe.forward(draws, with_encoding=False).logits.argmax(1)
        lf = pf.forward(draws, with_encoding=False).logits.argmax(1)
        agreement[f"{key}_draws"] = float((le == lf).float().mean())
        med = {k: v["median_s"] for k, v in timings.items()}
        per_model[key] = {
            "backend": pf.backend,
            "gflop_per_pass": flops / 1e9,
            "median_s": med,
            "gflops": {
                "eager_1": flops / med["eager_1"] / 1e9,
                "backend_1": flops / med["backend_1"] / 1e9,
                "eager_4": 4 * flops / med["eager_4"] / 1e9,
                "backend_4": 4 * flops / med["backend_4"] / 1e9,
            },
            "speedup_1": med["eager_1"] / med["backend_1"],
            "speedup_4": med["eager_4"] / med["backend_4"],
            "one_thread_s": {k: v["median_s"] for k, v in single.items()},
            "speedup_one_thread": single["eager"]["median_s"] / single["backend"]["median_s"],
        }
    for info in per_model.values():
        info["share_of_matmul"] = {k: v / matmul["gflops"] for k, v in info["gflops"].items()}
    bf16 = (
        _bf16(eager, clean, draws) if any("bf16" in f or "amx" in f for f in cpu_flags()) else None
    )
    ratio = predict["eager_fp32"]["median_s"] / predict["auto"]["median_s"]
    accuracy = {
        "mask_agreement": agreement,
        "required": AGREEMENT,
        "ok": min(agreement.values()) >= AGREEMENT,
    }
    details = {
        "backend_note": notes,
        "predict_s": predict,
        "per_model": per_model,
        "matmul": matmul,
        "first_use": cold,
        "bf16_eager": bf16 or "no native bf16 on this CPU (not measured)",
        "torch": torch_info(),
        "load_avg_before": load_before,
        "load_avg_after": list(os.getloadavg()),
    }
    return result(
        ID,
        "CPU backend of precision='auto' (both chest masks, pair.predict, 512x512 X-ray)",
        "same call, eager torch float32",
        ratio,
        TARGET,
        accuracy,
        details,
    )


def _bf16(pair: Any, clean: Any, draws: Any) -> dict[str, Any]:
    """Eager bf16 autocast vs eager float32 on this CPU: mask agreement and speed."""
    out: dict[str, Any] = {}
    for key in pair.keys:
        p32, p16 = pair.predictor(key, "cpu", "fp32"), pair.predictor(key, "cpu", "bf16")
        t = interleaved_medians(
            {"fp32": lambda p=p32: p.forward(draws, with_encoding=False),
             "bf16": lambda p=p16: p.forward(draws, with_encoding=False)}, 3,
        )  # fmt: skip
        a = p32.forward(draws, with_encoding=False).logits.argmax(1)
        b = p16.forward(draws, with_encoding=False).logits.argmax(1)
        out[key] = {
            "agreement": float((a == b).float().mean()),
            "speedup": t["fp32"]["median_s"] / t["bf16"]["median_s"],
        }
    return out
