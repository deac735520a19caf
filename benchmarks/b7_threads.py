"""B7: the masks of a slider update while one other process keeps a core busy: thread policy.

What napari's UI thread does to the explorer's worker, reproduced with one competing busy
process (``python -c "while True: pass"``, started here, at normal priority). Each variant runs
``ModelPair.predict`` on the bundled chest pair and the bundled 512 x 512 X-ray (one forward
pass per model: what the user waits for after a slider move), alternated, in a fresh process
per OpenMP wait policy (``OMP_WAIT_POLICY`` is read when OpenMP starts: torch's default, and
``PASSIVE`` as :func:`vqseg_core.threads.prefer_passive_wait` sets it for the plugin):

* ``torch default``: eager float32 with torch's default thread count (the baseline);
* ``torch N``: eager float32, fixed thread counts (1, cores - 1, cores);
* ``torch policy``: eager float32 under :func:`vqseg_core.threads.inference_threads`;
* ``product policy``: what the explorer runs: ``precision="auto"`` (ONNX Runtime float32,
  :mod:`vqseg_core.backends`) under the same policy; ``product N`` fixed.

Ratio: ``torch default`` / ``product policy`` (target >= 2x). Also required: each policy is no
slower than the best fixed count of its backend (within 10 %: timing noise on a shared box),
and the product's masks equal eager float32 on >= 99.99 % of pixels. The full run adds the
``PASSIVE`` process and the machine without the busy process; ``--quick`` runs the busy,
default-policy process only (3 repeats).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from typing import Any

from benchmarks.common import REPO, result

ID = "B7"
TARGET = 2.0
AGREEMENT = 0.9999
TOLERANCE = 1.10  # the policy may be at most this much slower than the best fixed count
THREAD_VARS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS", "VQSEG_THREADS")


def _child(spec: dict[str, Any]) -> dict[str, Any]:
    """Time the variants in this process (run as ``python -m benchmarks.b7_threads SPEC``)."""
    import numpy as np
    import torch
    from benchmarks.common import chest_xray, interleaved_medians

    from vqseg_core.pretrained import load_pair
    from vqseg_core.threads import busy_processes, inference_threads, worker_threads

    image, _mask, spacing = chest_xray()
    default_threads = torch.get_num_threads()
    eager, product = load_pair("chest-xray"), load_pair("chest-xray")

    def run(pair: Any, precision: str, threads: int | str | None) -> Any:
        if threads == "policy":
            with inference_threads():
                return pair.predict(image, spacing, device="cpu", precision=precision)
        if threads is None:
            return pair.predict(image, spacing, device="cpu", precision=precision)
        with inference_threads(int(threads)):
            return pair.predict(image, spacing, device="cpu", precision=precision)

    variants = {"torch default": lambda: run(eager, "fp32", None)}
    for name in spec["variants"]:
        backend, threads = name.split(" ")
        pair, precision = (eager, "fp32") if backend == "torch" else (product, "auto")
        variants[name] = lambda p=pair, q=precision, t=threads: run(p, q, t)
    load_before = os.getloadavg()
    seen = {"busy_processes": busy_processes(), "policy_threads": worker_threads()}
    times = interleaved_medians(variants, spec["repeats"])
    a, b = run(product, "auto", "policy"), run(eager, "fp32", None)
    notes = {k: product.predictor(k, "cpu", "auto").backend_note for k in product.keys}
    return {
        "medians_s": {k: round(v["median_s"], 4) for k, v in times.items()},
        "times_s": {k: v["times_s"] for k, v in times.items()},
        "agreement": {k: float(np.mean(a[k] == b[k])) for k in a},
        "torch_default_threads": default_threads,
        "policy_saw": seen,
        "backend_note": notes,
        "load_avg_before": list(load_before),
        "load_avg_after": list(os.getloadavg()),
    }


def _spawn(spec: dict[str, Any], wait_policy: str | None) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if k not in THREAD_VARS}
    env.pop("VQSEG_BACKEND", None)
    if wait_policy:
        env["OMP_WAIT_POLICY"] = wait_policy
    else:
        env.pop("OMP_WAIT_POLICY", None)
    cmd = [sys.executable, "-m", "benchmarks.b7_threads", json.dumps(spec)]
    done = subprocess.run(cmd, cwd=REPO, env=env, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"B7 child failed: {done.stderr[-2000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _busy() -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "while True: pass"])


def run(quick: bool) -> dict[str, Any]:
    """The busy-machine comparison (and, in full runs, PASSIVE and idle)."""
    from vqseg_core.threads import available_cores

    repeats = 3 if quick else 8
    cores = available_cores()
    fixed = sorted({1, max(1, cores - 1), cores})
    torch_fixed = [f"torch {n}" for n in fixed]
    product_fixed = [f"product {n}" for n in fixed]
    all_variants = [*torch_fixed, "torch policy", *product_fixed, "product policy"]
    runs: dict[str, Any] = {}
    busy = _busy()
    try:
        runs["busy"] = _spawn({"variants": all_variants, "repeats": repeats}, None)
        if not quick:  # OMP_WAIT_POLICY=PASSIVE: recorded by full runs
            passive = [*torch_fixed, "torch policy", "product policy"]
            runs["busy_passive"] = _spawn({"variants": passive, "repeats": repeats}, "PASSIVE")
    finally:
        busy.kill()
        busy.wait()
    if not quick:
        idle = {"variants": [*torch_fixed, "torch policy", "product policy"], "repeats": 4}
        runs["idle"] = _spawn(idle, None)
    med = runs["busy"]["medians_s"]
    ratio = med["torch default"] / med["product policy"]
    best_torch = min(med[k] for k in torch_fixed)
    best_product = min(med[k] for k in product_fixed)
    policy_ok = {
        "torch": med["torch policy"] <= TOLERANCE * best_torch,
        "product": med["product policy"] <= TOLERANCE * best_product,
    }
    versus = {k: round(med[f"{k} policy"] / best, 3) for k, best in
              (("torch", best_torch), ("product", best_product))}  # fmt: skip
    if "busy_passive" in runs:
        pas = runs["busy_passive"]["medians_s"]
        best_passive = min(pas[k] for k in torch_fixed)
        policy_ok["torch_passive"] = pas["torch policy"] <= TOLERANCE * best_passive
        versus["torch_passive"] = round(pas["torch policy"] / best_passive, 3)
    agreement = runs["busy"]["agreement"]
    accuracy = {
        "mask_agreement": agreement,
        "required": AGREEMENT,
        "policy_vs_best_fixed": {**versus, "allowed": TOLERANCE, "ok": policy_ok},
        "ok": min(agreement.values()) >= AGREEMENT and all(policy_ok.values()),
    }
    details = {
        "runs": runs,
        "torch_policy_vs_torch_default": med["torch default"] / med["torch policy"],
        "busy_process": "python -c 'while True: pass' (nice 0)",
    }
    return result(
        ID,
        "masks of a slider update (chest pair, pair.predict) with one busy process: explorer's "
        "thread policy + backend",
        "same call, eager float32, torch's default threads, same load",
        ratio,
        TARGET,
        accuracy,
        details,
    )


if __name__ == "__main__":
    print(json.dumps(_child(json.loads(sys.argv[1]))))
