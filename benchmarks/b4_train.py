"""B4: training throughput (images/s) of ``vqseg-train`` vs a plain MONAI ``UNet`` loop.

Product: :func:`vqseg_core.train.train` (the loop behind ``vqseg-train``) with the bundled
pair's config ``configs/chest-xray.yaml`` (VQ-UNet, channels 16..256, codebook 1024 x 256,
k-means init, intensity augmentation), on the bundled chest X-ray and its lung mask (128 x 128
with ``--quick``, else the config's 256 x 256), batch 4, device ``cpu``, ``precision: auto``
(bf16 autocast + channels-last here, quantiser in float32); validation, checkpoints and the
export fall after the timed steps.
Baseline: a plain loop over ``monai.networks.nets.UNet`` with the same channels and strides
(``num_res_units`` chosen to match the parameter count), float32, default memory format, the
same ``DiceCELoss(softmax=True)`` on one-hot targets, AdamW with the same settings, and the
very same batches (the same sampler, seed and steps).

Both are timed by a global optimiser-step hook: images/s = batch / median seconds between
optimiser steps after the warm-up steps. Accuracy: on the TRAINED chest-xray VQ-UNet, one
training step's loss and gradients under bf16 + channels-last agree with float32 (loss within
2 %, gradient cosine >= 0.99); both loops' losses are finite.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from typing import Any

from benchmarks.common import REPO, chest_xray, result, torch_info, torch_profile

ID = "B4"
TARGET = 1.5
BATCH = 4


def _config(size: int, steps: int):
    from vqseg_core.train import load_config

    overrides = [
        f"data.image_size=[{size},{size}]",
        f"optim.batch_size={BATCH}",
        f"schedule.steps={steps}",
        f"schedule.val_every={steps}",
        f"schedule.checkpoint_every={steps}",
        "schedule.checkpoint_minutes=null",
        "logging.progress=false",
        "precision=auto",
    ]
    return load_config(REPO / "configs" / "chest-xray.yaml", overrides)


def _samples(config) -> list:
    import numpy as np

    from vqseg_core.data.resample import resize_labels
    from vqseg_core.train.data import Sample
    from vqseg_core.train.dataset import training_recipe

    image, mask, spacing = chest_xray()
    x, ctx = training_recipe(config.data).apply(image, spacing)
    y = resize_labels(np.rint(mask).astype(np.int64), ctx.model_shape).astype(np.int64)
    return [Sample(x[None].astype(np.float32), y, "chest-xray", tuple(ctx.model_spacing))]


class _StepClock:
    """Records the time of every optimiser step (a global post-step hook)."""

    def __enter__(self) -> list[float]:
        from torch.optim.optimizer import register_optimizer_step_post_hook

        self.times: list[float] = []
        hook = lambda *_: self.times.append(time.perf_counter())  # noqa: E731
        self.handle = register_optimizer_step_post_hook(hook)
        return self.times

    def __exit__(self, *exc: object) -> None:
        self.handle.remove()


def _rate(times: list[float], warmup: int) -> dict[str, Any]:
    gaps = [b - a for a, b in zip(times[warmup:], times[warmup + 1 :], strict=False)]
    med = statistics.median(gaps)
    return {
        "median_step_s": med,
        "images_per_s": BATCH / med,
        "step_s": [round(g, 4) for g in gaps],
    }


def _vqseg(config, samples, warmup: int) -> dict[str, Any]:
    from vqseg_core.train import train

    with tempfile.TemporaryDirectory() as out, _StepClock() as times:
        train(config, out, device="cpu", data=(samples, samples), echo=lambda m: None)
    return _rate(times, warmup)


def _monai_unet(config):
    from monai.networks.nets import UNet

    target = sum(p.numel() for p in _vq_model(config).parameters())
    best = None
    for units in range(1, 6):
        net = UNet(
            2,
            1,
            config.model.out_channels,
            channels=config.model.channels,
            strides=(2,) * (len(config.model.channels) - 1),
            num_res_units=units,
        )
        size = sum(p.numel() for p in net.parameters())
        if best is None or abs(size - target) < abs(best[1] - target):
            best = (net, size, units)
    assert best is not None
    return best


def _vq_model(config):
    from vqseg_core.models import build_model

    return build_model(config.model)


def _plain(
    config, samples, warmup: int, net, amp: bool = False, fmt=None
) -> tuple[dict[str, Any], list[float], Any]:
    """A plain training loop over ``net`` on the vqseg sampler's batches; also a one-step fn."""
    import torch
    from monai.losses import DiceCELoss

    from vqseg_core.train.data import SegmentationData, step_rng

    fmt = fmt or torch.contiguous_format
    net = net.to(memory_format=fmt)
    opt = torch.optim.AdamW(
        net.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay
    )
    loss_fn = DiceCELoss(to_onehot_y=False, softmax=True)
    sampler = SegmentationData(
        samples, config.data.patch_size, config.data.augment, config.data.foreground_fraction
    )
    vq = hasattr(net, "forward_with_aux")

    def step(i: int) -> float:
        x, y = sampler.batch(step_rng(config.seed, i), BATCH)
        net.train()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            out = net.forward_with_aux(x.contiguous(memory_format=fmt)) if vq else None
            logits = out.logits if vq else net(x)
        target = torch.nn.functional.one_hot(y[:, 0], config.model.out_channels)
        loss = loss_fn(logits.float(), target.movedim(-1, 1).float())
        if vq and out.vq is not None:
            loss = loss + out.vq.loss
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return loss.item()

    with _StepClock() as times:
        losses = [step(i) for i in range(config.schedule.steps)]
    return _rate(times, warmup), losses, step


def _flops(net, size: int) -> float:
    """Forward GFLOPs of ``net`` on one ``size`` x ``size`` image."""
    import torch
    from torch.utils.flop_counter import FlopCounterMode

    with FlopCounterMode(display=False) as counter, torch.no_grad():
        net.eval()(torch.rand(1, 1, size, size))
    return counter.get_total_flops() / 1e9


def _bf16_check(samples) -> dict[str, Any]:
    """Loss and gradients of one step on the trained VQ-UNet: bf16 + channels-last vs fp32."""
    import torch
    from monai.losses import DiceCELoss

    from vqseg_core.pretrained import load_pair

    x = torch.from_numpy(samples[0].image[None])
    y = torch.from_numpy(samples[0].label[None])
    loss_fn = DiceCELoss(to_onehot_y=False, softmax=True)
    out = {}
    for name, amp, fmt in (
        ("fp32", False, torch.contiguous_format),
        ("bf16", True, torch.channels_last),
    ):
        model = load_pair("chest-xray").models["vqunet"].to(memory_format=fmt).train()
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=amp):
            res = model.forward_with_aux(x.contiguous(memory_format=fmt))
        target = torch.nn.functional.one_hot(y, 3).movedim(-1, 1).float()
        loss = loss_fn(res.logits.float(), target) + res.vq.loss
        loss.backward()
        grad = torch.cat([p.grad.flatten() for p in model.parameters() if p.grad is not None])
        out[name] = (float(loss), grad)
    rel = abs(out["bf16"][0] - out["fp32"][0]) / abs(out["fp32"][0])
    cos = float(torch.nn.functional.cosine_similarity(out["bf16"][1], out["fp32"][1], dim=0))
    return {
        "loss_fp32": out["fp32"][0],
        "loss_bf16": out["bf16"][0],
        "loss_rel_diff": rel,
        "grad_cosine": cos,
        "ok": rel <= 0.02 and cos >= 0.99,
    }


def run(quick: bool) -> dict[str, Any]:
    """Images/s of vqseg-train's loop vs the plain MONAI loop on the same data."""
    import math

    import torch

    size, warmup, timed = (128, 3, 8) if quick else (256, 3, 10)
    config = _config(size, warmup + timed + 1)
    samples = _samples(config)
    rounds = 1 if quick else 2
    product, baseline, losses = [], [], []
    for _ in range(rounds):  # alternate the two loops
        product.append(_vqseg(config, samples, warmup))
        torch.manual_seed(config.seed)
        rate, losses, monai_step = _plain(config, samples, warmup, _monai_unet(config)[0])
        baseline.append(rate)
    fast = statistics.median(r["images_per_s"] for r in product)
    slow = statistics.median(r["images_per_s"] for r in baseline)
    # where the time goes: the same VQ-UNet in the plain loop, float32 and bf16 + channels-last
    torch.manual_seed(config.seed)
    same_fp32, _, fp32_step = _plain(config, samples, warmup, _vq_model(config))
    torch.manual_seed(config.seed)
    same_bf16, _, bf16_step = _plain(
        config, samples, warmup, _vq_model(config), True, torch.channels_last
    )
    monai_net, monai_params, units = _monai_unet(config)
    accuracy = _bf16_check(samples)
    accuracy["plain_losses_finite"] = all(math.isfinite(v) for v in losses)
    accuracy["ok"] = bool(accuracy["ok"] and accuracy["plain_losses_finite"])
    details: dict[str, Any] = {
        "image_size": size,
        "batch": BATCH,
        "warmup_steps": warmup,
        "timed_steps": timed,
        "rounds": rounds,
        "vqseg_train": product,
        "plain_monai": baseline,
        "images_per_s": {
            "vqseg_train": fast,
            "plain_monai_unet_fp32": slow,
            "plain_same_vqunet_fp32": same_fp32["images_per_s"],
            "plain_same_vqunet_bf16_channels_last": same_bf16["images_per_s"],
        },
        "params": {
            "vqseg_vqunet": sum(p.numel() for p in _vq_model(config).parameters()),
            "monai_unet": monai_params,
            "monai_num_res_units": units,
        },
        "forward_gflops_per_image": {
            "vqseg_vqunet": _flops(_vq_model(config), size),
            "monai_unet": _flops(monai_net, size),
        },
        "torch": torch_info(),
    }
    if fast / slow < TARGET:
        details["profile_vqunet_bf16_step"] = torch_profile(lambda: bf16_step(0), 10)
        details["profile_vqunet_fp32_step"] = torch_profile(lambda: fp32_step(0), 10)
        details["profile_monai_fp32_step"] = torch_profile(lambda: monai_step(0), 10)
    return result(
        ID,
        f"vqseg-train images/s (VQ-UNet {size}x{size}, batch {BATCH})",
        "plain MONAI UNet loop, same size/loss/data, float32",
        fast / slow,
        TARGET,
        accuracy,
        details,
    )
