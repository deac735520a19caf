"""B4: wall time until held-out lung Dice first reaches 0.96, ``vqseg-train`` vs a plain MONAI loop.

Data: JSRT at 128 x 128 (``data/jsrt128``, prepared from ``../shared/data/jsrt_scr`` when
missing), the literature's parity split: the 99 odd cases train, the 101 even cases are held
out. Loaded once (preprocessing timed separately) and given to every arm as the same arrays.

Arms, each the same recipe (``configs/chest-xray.yaml`` at 128 px: batch 10, AdamW lr 3e-4,
weight decay 1e-5, ``DiceCELoss(softmax=True)`` on one-hot targets, ``intensity``
augmentation, the counter-based batches of :class:`~vqseg_core.train.data.SegmentationData`)
with the same seeds:

* ``fast_unet`` / ``fast_vqunet``: :func:`vqseg_core.train.train` (the ``vqseg-train`` loop)
  with ``configs/chest-xray-fast.yaml`` (the fast recipe: ``model.stem: lean``), kind
  ``unet`` and ``vqunet``;
* ``unet`` / ``vqunet``: the same loop with the default architecture (what every existing
  config trains; on the command line only: ``python -m benchmarks.b4_train unet vqunet``);
* ``monai``: a plain loop over ``monai.networks.nets.UNet`` with the same channels and strides
  (``num_res_units=4``: 3.20 M parameters against the UNet's 2.99 M / VQ-UNet's 3.32 M),
  float32, default memory format.

Each run validates every ``VAL_EVERY`` steps (full mode: from step ``FIRST_VAL`` on) on the 101
held-out cases with the same
:func:`~vqseg_core.train.validate.validate`; validation time is measured and EXCLUDED from the
time to Dice (so validating more often does not penalise an arm). The time counts everything
else from the call that starts training (model build, k-means init, the steps, logging) to the
end of the step whose validation first reaches the target. A run stops there.

Full mode: median over seeds 1-3 for ``fast_unet`` and ``monai``, seed 1 for ``fast_vqunet``
(about 15-20 minutes idle). The ratio is MONAI's median time over ``fast_unet``'s (UNet
against UNet; the VQ-UNet's ratio is in ``details.ratio_monai_over_arm``, from one seed). Quick
mode: seed 1, ``fast_unet`` and ``monai``, target lung Dice 0.85 within 40 steps (a smoke run of
the same code, about half a minute). ``details.runs`` also gives each run's steps, process CPU
seconds and validation curve.
"""

from __future__ import annotations

import contextlib
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from unittest import mock

from benchmarks.common import REPO, result, torch_info

ID = "B4"
TARGET = 1.5
BASE = REPO / "configs" / "chest-xray.yaml"
FAST = REPO / "configs" / "chest-xray-fast.yaml"
DATA = REPO / "data" / "jsrt128"
VAL_EVERY = int(os.environ.get("B4_VAL_EVERY", "20"))
FIRST_VAL = 100  # full mode: no validation before this step (every arm needed 170 or more)
DEVICE = os.environ.get("B4_DEVICE", "cpu")  # the benchmark is a CPU one; "cuda" for a GPU run
ARMS: dict[str, tuple[Path, list[str]]] = {
    "fast_unet": (FAST, ["model.kind=unet"]),
    "fast_vqunet": (FAST, ["model.kind=vqunet"]),
    "unet": (BASE, ["model.kind=unet"]),
    "vqunet": (BASE, ["model.kind=vqunet"]),
    "monai": (BASE, ["model.kind=unet"]),
}
"""Arm name -> (config, overrides). ``monai`` reads only the data, optimiser and schedule."""


class _Reached(Exception):
    """Raised from validation to stop a run once the target Dice is reached."""


def _ensure_data() -> Path:
    """``data/jsrt128`` (prepared from the shared JSRT copy when missing)."""
    if not (DATA / "dataset.json").exists():
        shared = Path(os.environ.get("SHARED", REPO.parent / "shared" / "data"))
        cmd = [sys.executable, "-m", "vqseg_core.data", "prepare", "jsrt", "--source",
               str(shared / "jsrt_scr"), "--size", "128", "--out", str(DATA), "--quiet"]  # fmt: skip
        subprocess.run(cmd, check=True, cwd=REPO)
    return DATA


def _arm(name: str) -> tuple[Path, list[str]]:
    """An arm of :data:`ARMS`, or ``NAME@OVERRIDE,OVERRIDE...`` on ``chest-xray.yaml`` (to try
    a lever from the command line, e.g. ``lean@model.kind=unet,model.stem=lean``)."""
    if name in ARMS:
        return ARMS[name]
    _, _, extra = name.partition("@")
    return BASE, [o for o in extra.split(",") if o]


def _config(path: Path, overrides: list[str], seed: int, cap: int):
    from vqseg_core.train import load_config

    return load_config(
        path,
        [
            f"data.dataset={DATA}",
            "data.image_size=[128,128]",
            *overrides,
            *[o for o in os.environ.get("B4_SET", "").split(",") if o],  # e.g. precision=fp32
            f"seed={seed}",
            f"schedule.steps={cap}",
            f"schedule.val_every={VAL_EVERY}",
            f"schedule.checkpoint_every={cap}",
            "schedule.checkpoint_minutes=null",
            "logging.progress=false",
        ],
    )


class _Clock:
    """Validation wrapper: times each validation, records Dice, stops at the target; skips the
    validations before step ``first`` (no arm is near the target there: saves wall time)."""

    def __init__(self, validate, target: float, steps, first: int = 0) -> None:
        self.validate, self.target, self.steps, self.first = validate, target, steps, first
        self.val_seconds = 0.0
        self.val_cpu = 0.0
        self.curve: list[float] = []
        self.reached_at: float | None = None
        self.reached_cpu = 0.0

    def __call__(self, *args: Any, **kwargs: Any) -> dict[str, float]:
        if self.steps() < self.first:
            return {}
        t0, c0 = time.perf_counter(), time.process_time()
        dice = self.validate(*args, **kwargs)
        self.val_seconds += time.perf_counter() - t0
        self.val_cpu += time.process_time() - c0
        self.curve.append(round(dice["lungs"], 4))
        if dice["lungs"] >= self.target:
            self.reached_at = time.perf_counter()  # minus val_seconds: the steps before it
            self.reached_cpu = time.process_time()
            raise _Reached
        return dice


def _outcome(
    clock: _Clock, start: tuple[float, float], end: tuple[float, float], steps: int
) -> dict[str, Any]:
    """A run's result; ``start``/``end``: (wall, process CPU) seconds."""
    reached = clock.reached_at is not None
    train_s = (clock.reached_at if reached else end[0]) - start[0] - clock.val_seconds
    cpu_s = (clock.reached_cpu if reached else end[1]) - start[1] - clock.val_cpu
    return {
        "reached": reached,
        "seconds": train_s if reached else None,
        "steps": steps if reached else None,
        "train_seconds_run": train_s,
        "cpu_seconds": cpu_s,  # process CPU time (all threads), validation excluded
        "steps_run": steps,
        "validation_seconds": clock.val_seconds,
        "val_lung_dice": clock.curve,
    }


def _vqseg(config, data, target: float, first: int) -> dict[str, Any]:
    """One ``vqseg-train`` run until lung Dice >= ``target`` (or the step cap)."""
    from vqseg_core.train import loop

    steps = _StepCount()
    clock = _Clock(loop.validate, target, lambda: steps.count, first)
    with tempfile.TemporaryDirectory() as out, mock.patch.object(loop, "validate", clock), steps:
        start = time.perf_counter(), time.process_time()
        with contextlib.suppress(_Reached):
            loop.train(config, out, device=DEVICE, data=data, echo=lambda m: None)
        end = time.perf_counter(), time.process_time()
    return _outcome(clock, start, end, steps.count)


class _StepCount:
    """Counts optimiser steps (a global post-step hook)."""

    def __enter__(self) -> _StepCount:
        from torch.optim.optimizer import register_optimizer_step_post_hook

        self.count = 0
        self.handle = register_optimizer_step_post_hook(lambda *_: self._tick())
        return self

    def _tick(self) -> None:
        self.count += 1

    def __exit__(self, *exc: object) -> None:
        self.handle.remove()


def monai_unet(config):
    """MONAI's UNet with the config's channels, stride 2 per level, 4 residual units."""
    from monai.networks.nets import UNet

    channels = config.model.channels
    return UNet(2, 1, config.model.out_channels, channels=channels,
                strides=(2,) * (len(channels) - 1), num_res_units=4)  # fmt: skip


def _plain(config, data, target: float, first: int) -> dict[str, Any]:
    """The plain MONAI loop: same batches, loss, optimiser and validation as ``vqseg-train``."""
    import torch
    from monai.losses import DiceCELoss

    from vqseg_core.train.data import SegmentationData, step_rng
    from vqseg_core.train.validate import validate

    train, val = data
    step = 0
    clock = _Clock(validate, target, lambda: step, first)
    start = time.perf_counter(), time.process_time()
    dev = torch.device(DEVICE)
    torch.manual_seed(config.seed)
    net = monai_unet(config).to(dev)
    opt = torch.optim.AdamW(
        net.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay
    )
    loss_fn = DiceCELoss(to_onehot_y=False, softmax=True)
    d = config.data
    sampler = SegmentationData(train, d.patch_size, d.augment, d.foreground_fraction)
    try:
        while step < config.schedule.steps:
            x, y = sampler.batch(step_rng(config.seed, step), config.optim.batch_size)
            x, y = x.to(dev), y.to(dev)
            net.train()
            target_1h = torch.nn.functional.one_hot(y[:, 0], config.model.out_channels)
            loss = loss_fn(net(x), target_1h.movedim(-1, 1).float())
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            if step % config.schedule.val_every == 0:
                clock(net, val, d.labels, dev, None, d.patch_size)
    except _Reached:
        pass
    return _outcome(clock, start, (time.perf_counter(), time.process_time()), step)


def _load(config) -> tuple[tuple[list, list], float]:
    from vqseg_core.train.dataset import load_training_data

    t0 = time.perf_counter()
    data = load_training_data(config)
    return data, time.perf_counter() - t0


def run(
    quick: bool,
    arms: list[str] | None = None,
    seeds: list[int] | None = None,
    target: float | None = None,
    cap: int | None = None,
) -> dict[str, Any]:
    """Time to held-out lung Dice >= 0.96 (quick: 0.85) for each arm; ratio MONAI / ours."""
    import torch

    _ensure_data()
    target = target or (0.85 if quick else 0.96)
    cap = cap or (40 if quick else 600)
    one_seed = ("fast_vqunet",) if seeds is None and not quick else ()
    seeds = seeds or ([1] if quick else [1, 2, 3])
    first = 0 if quick else FIRST_VAL
    arms = arms or (["fast_unet", "monai"] if quick else ["fast_unet", "fast_vqunet", "monai"])
    data, load_s = _load(_config(BASE, [], 1, cap))
    few = (data[0][:10], data[1][:1])
    for arm in arms:  # untimed warm-up: one-time imports and kernel set-up fall outside the runs
        (_plain if arm == "monai" else _vqseg)(_config(*_arm(arm), 0, 2), few, 2.0, 0)
    runs: dict[str, list[dict[str, Any]]] = {a: [] for a in arms}
    for seed in seeds:  # alternate the arms seed by seed (load spreads over all of them)
        for arm in arms:
            if seed != seeds[0] and arm in one_seed:
                continue  # one seed: full mode stays near 15 min idle
            config = _config(*_arm(arm), seed, cap)
            torch.manual_seed(seed)
            runner = _plain if arm == "monai" else _vqseg
            out = runner(config, data, target, first)
            out.update(seed=seed, load_avg=os.getloadavg()[0])
            runs[arm].append(out)
    summary = {a: _median(r) for a, r in runs.items()}
    monai_s = summary.get("monai", {}).get("seconds")
    ratios = {
        a: monai_s / summary[a]["seconds"] if monai_s and summary[a]["seconds"] else 0.0
        for a in arms
        if a != "monai"
    }
    headline = "fast_unet" if "fast_unet" in ratios else next(iter(ratios), None)
    ratio = ratios.get(headline, 0.0) if headline else 0.0
    accuracy = {
        "target_lung_dice": target,
        "every_run_reached": all(r["reached"] for rs in runs.values() for r in rs),
        "ok": bool(headline) and all(r["reached"] for r in runs[headline]),
    }
    details = {
        "data": "JSRT 128 px, parity split (99 odd train, 101 even held out)",
        "preprocessing_seconds": load_s,
        "val_every": VAL_EVERY,
        "first_validation_step": first,
        "step_cap": cap,
        "seeds": seeds,
        "timing": "wall seconds from the start of training to the reaching step, validation excluded",
        "summary": summary,
        "headline_arm": headline,
        "ratio_monai_over_arm": ratios,
        "runs": runs,
        "torch": torch_info(),
    }
    return result(
        ID,
        f"time to held-out lung Dice {target} (JSRT 128 px), vqseg-train {headline}",
        "plain MONAI UNet loop (num_res_units 4), same data, loss, optimiser, seeds",
        ratio,
        TARGET,
        accuracy,
        details,
    )


def _median(rs: list[dict[str, Any]]) -> dict[str, Any]:
    """Median seconds and steps over an arm's runs (``None`` if any run missed the target)."""
    done = [r for r in rs if r["reached"]]
    whole = len(done) == len(rs)
    return {
        "seconds": statistics.median(r["seconds"] for r in done) if whole else None,
        "steps": statistics.median(r["steps"] for r in done) if whole else None,
        "runs": len(rs),
        "reached": len(done),
    }


if __name__ == "__main__":
    import argparse
    import json

    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("arms", nargs="*", help=f"{', '.join(ARMS)} or NAME@OVERRIDE,...")
    p.add_argument("--quick", action="store_true")
    p.add_argument("--seeds", type=lambda t: [int(v) for v in t.split(",")], default=None)
    p.add_argument("--target", type=float, default=None)
    p.add_argument("--cap", type=int, default=None)
    a = p.parse_args()
    out = run(a.quick, a.arms or None, a.seeds, a.target, a.cap)
    print(json.dumps(out, indent=1, default=str))
