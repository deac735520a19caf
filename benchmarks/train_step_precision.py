"""Seconds per training step of a 3D VQ-UNet on the CPU: float32 vs bf16 (+ channels-last).

Side by side in one run, medians over repeats after a warm-up. This is the measurement behind
``precision: fp32`` in the 3D CPU configs (``configs/ct-organs.yaml``, ``configs/brain-mri.yaml``).

    python benchmarks/train_step_precision.py [--threads 1] [--patch 64] [--repeats 3]
"""

from __future__ import annotations

import argparse
import json
import platform
import statistics
import time

import torch
from monai.losses import DiceCELoss

from vqseg_core.models import VQUNet

VARIANTS = {"fp32": (False, False), "bf16": (True, False), "bf16+channels_last": (True, True)}


def step_seconds(amp: bool, channels_last: bool, patch: int, repeats: int) -> float:
    torch.manual_seed(0)
    fmt = torch.channels_last_3d if channels_last else torch.contiguous_format
    model = VQUNet(3, 1, 6, channels=(8, 16, 32, 64, 128), codebook_dim=128).to(memory_format=fmt)
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    loss_fn = DiceCELoss(softmax=True)
    x = torch.rand(2, 1, patch, patch, patch).contiguous(memory_format=fmt)
    target = torch.nn.functional.one_hot(torch.randint(0, 6, (2, patch, patch, patch)), 6)
    target = target.movedim(-1, 1).float()

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            out = model.forward_with_aux(x)
        loss = loss_fn(out.logits.float(), target) + out.vq.loss
        opt.zero_grad()
        loss.backward()
        opt.step()

    step()  # warm-up
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        step()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--threads", type=int, default=torch.get_num_threads())
    p.add_argument("--patch", type=int, default=64)
    p.add_argument("--repeats", type=int, default=3)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    result = {
        name: step_seconds(amp, cl, args.patch, args.repeats)
        for name, (amp, cl) in VARIANTS.items()
    }
    base = result["fp32"]
    for name, seconds in result.items():
        print(f"{name:20s} {seconds:6.2f} s/step   fp32 / this = {base / seconds:.2f}")
    machine = {
        "cpu": platform.processor() or platform.machine(),
        "threads": args.threads,
        "torch": torch.__version__,
        "capability": torch.backends.cpu.get_cpu_capability(),
    }
    print(json.dumps({"machine": machine, "patch": args.patch, "seconds": result}))


if __name__ == "__main__":
    main()
