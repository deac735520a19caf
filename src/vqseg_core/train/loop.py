"""The training loop behind ``vqseg-train``: one function, :func:`train`.

Output folder::

    config.yaml              the resolved config
    log.jsonl                one line per step (step, loss and each term, lr, codebook usage)
                             and one per validation (Dice per class)
    checkpoints/latest.ckpt  the latest state (model, optimiser, step, config, log length)
    NAME.safetensors/.json   the final weights and their config (with the weights' sha256)
    summary.json             final validation Dice, steps, time, augmentations used

Exact resume: every step's randomness is a pure function of ``(seed, step, rank)``, the
checkpoint holds the model, optimiser and the length of ``log.jsonl`` at save time, and a
resumed run truncates the log back to that length, so a run killed at any step (even by
SIGKILL, even during a save) and resumed writes the same loss curve bit for bit on CPU.
"""

from __future__ import annotations

import json
import math
import os
import signal
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from monai.losses import DiceCELoss
from torch.nn.parallel import DistributedDataParallel

from vqseg_core.checkpoint import (
    CheckpointError,
    check_config_compatible,
    load_checkpoint,
    load_state_dict_strict,
    save_checkpoint,
)
from vqseg_core.device import autocast_dtype, channels_last, pick_device
from vqseg_core.models import build_model
from vqseg_core.train import distributed
from vqseg_core.train.config import TrainConfig, dump_config
from vqseg_core.train.data import Sample, SegmentationData, step_rng, step_torch_seed
from vqseg_core.train.validate import validate

CHECKPOINT = Path("checkpoints") / "latest.ckpt"


@dataclass(frozen=True)
class TrainResult:
    """What a finished (or interrupted) run left behind."""

    out_dir: Path
    steps_done: int
    interrupted: bool
    final_dice: dict[str, float]
    weights: Path | None


class RunExistsError(ValueError):
    """The output folder already holds a run and ``resume`` was not asked for."""


def _json_config(config: TrainConfig) -> dict[str, Any]:
    return json.loads(json.dumps(config.to_dict()))


def train(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    allow_config_change: bool = False,
    device: str = "auto",
    data: tuple[list[Sample], list[Sample]] | None = None,
    stop_after: int | None = None,
    echo: Callable[[str], None] | None = None,
) -> TrainResult:
    """Train a UNet or VQ-UNet as ``config`` says and write its outputs to ``out_dir``.

    Only one process trains into a folder at a time (a lock file, ``.lock``, holds the pid; a
    stale lock from a killed run is taken over). SIGTERM (e.g. from a cluster scheduler) is
    handled like Ctrl-C: the latest state is saved, then the run stops.

    Args:
        config: the resolved training config.
        out_dir: output folder (created; refused if it holds a run and ``resume`` is False).
        resume: continue from ``out_dir/checkpoints/latest.ckpt`` when it exists.
        allow_config_change: resume even if the model or data config changed.
        device: ``auto`` (CUDA -> MPS -> CPU), ``cpu``, ``cuda`` or ``mps``.
        data: ``(train, validation)`` samples; default: loaded as ``config.data`` says.
        stop_after: stop (saving a checkpoint) after this global step, as if interrupted.
        echo: where messages go (default: stderr, rank 0 only).

    Returns:
        A :class:`TrainResult`.

    Raises:
        RunExistsError: the folder holds a run (without ``resume``) or another live process
            is training into it.
    """
    out = Path(out_dir)
    lock = _RunLock(out) if int(os.environ.get("RANK", "0")) == 0 else None
    previous = _on_sigterm_interrupt()
    try:
        return _run(
            config,
            out,
            resume=resume,
            allow_config_change=allow_config_change,
            device=device,
            data=data,
            stop_after=stop_after,
            echo=echo,
        )
    finally:
        if previous is not None:
            signal.signal(signal.SIGTERM, previous)
        if lock is not None:
            lock.release()


class _RunLock:
    """``out/.lock`` holding this process's pid; refuses a folder another live process holds."""

    def __init__(self, out: Path) -> None:
        out.mkdir(parents=True, exist_ok=True)
        self.path = out / ".lock"
        for _ in range(2):
            try:
                fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
            except FileExistsError:
                pid = self._holder()
                if pid is not None and pid != os.getpid() and _alive(pid):
                    raise RunExistsError(
                        f"{out} is being trained by another process (pid {pid})"
                    ) from None
                self.path.unlink(missing_ok=True)  # stale: its process is gone
                continue
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(str(os.getpid()))
            return
        raise RunExistsError(f"cannot take the lock {self.path}")

    def _holder(self) -> int | None:
        try:
            return int(self.path.read_text(encoding="utf-8").strip() or "0") or None
        except (OSError, ValueError):
            return None

    def release(self) -> None:
        if self._holder() == os.getpid():
            self.path.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _on_sigterm_interrupt():
    """Make SIGTERM raise KeyboardInterrupt (main thread only); returns the previous handler."""
    if threading.current_thread() is not threading.main_thread():
        return None

    def handler(signum, frame):
        raise KeyboardInterrupt

    return signal.signal(signal.SIGTERM, handler)


def _run(
    config: TrainConfig,
    out_dir: str | Path,
    *,
    resume: bool = False,
    allow_config_change: bool = False,
    device: str = "auto",
    data: tuple[list[Sample], list[Sample]] | None = None,
    stop_after: int | None = None,
    echo: Callable[[str], None] | None = None,
) -> TrainResult:
    """The body of :func:`train` (same arguments)."""
    out = Path(out_dir)
    dev = pick_device(device)
    info = distributed.setup(dev)
    if info.enabled and dev.type == "cuda":
        dev = pick_device("cuda", info.local_rank)
        torch.cuda.set_device(dev)
    say = echo or (lambda m: print(m, file=sys.stderr))
    if not info.is_main:
        say = lambda m: None  # noqa: E731

    ckpt_path = out / CHECKPOINT
    has_run = ckpt_path.exists() or (out / "log.jsonl").exists()
    if has_run and not resume:
        raise RunExistsError(
            f"{out} already holds a training run: pass --resume, or choose another --out"
        )
    cfg_dict = _json_config(config)

    if data is None:
        from vqseg_core.train.dataset import load_training_data

        data = load_training_data(config, progress=config.logging.progress and info.is_main)
    train_samples, val_samples = data
    sampler = SegmentationData(
        train_samples, config.data.patch_size, config.data.augment, config.data.foreground_fraction
    )

    torch.manual_seed(config.seed)
    model = build_model(config.model).to(dev)
    amp = autocast_dtype(dev, config.precision)
    fmt = channels_last(config.model.spatial_dims) if amp is not None else torch.contiguous_format
    model = model.to(memory_format=fmt)
    optimizer = torch.optim.AdamW(
        model.parameters(), lr=config.optim.lr, weight_decay=config.optim.weight_decay
    )
    # targets are one-hot floats: MONAI's cross-entropy then takes the soft-label path, which
    # has a deterministic CUDA kernel (class-index targets go through nll_loss2d, which has none)
    loss_fn = DiceCELoss(to_onehot_y=False, softmax=True)

    start = 0
    if resume and ckpt_path.exists():
        state = load_checkpoint(
            ckpt_path, expected_keys={"model", "optimizer", "step", "config", "log_bytes"}
        )
        check_config_compatible(
            state["config"], cfg_dict, allow_change=allow_config_change, path=ckpt_path
        )
        load_state_dict_strict(model, state["model"], ckpt_path)
        try:
            optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(ckpt_path, f"optimiser state does not fit: {exc}") from exc
        start = int(state["step"])
        if info.is_main:
            _truncate(out / "log.jsonl", int(state["log_bytes"]))
        say(f"resuming {out} at step {start}")
    elif resume and has_run:
        if info.is_main:  # killed before the first checkpoint: start again from scratch
            (out / "log.jsonl").unlink(missing_ok=True)
        say(f"no checkpoint in {out}: starting from step 0")
    if info.is_main:
        out.mkdir(parents=True, exist_ok=True)
        (out / "config.yaml").write_text(dump_config(config), encoding="utf-8")
    distributed.barrier(info)

    net: torch.nn.Module = _WithAux(model)
    if info.enabled:
        net = DistributedDataParallel(net, device_ids=[dev.index] if dev.type == "cuda" else None)

    steps = config.schedule.steps
    last = min(steps, stop_after) if stop_after is not None else steps
    log = open(out / "log.jsonl", "a", encoding="utf-8") if info.is_main else None  # noqa: SIM115
    bar = _progress(start, steps, config.logging.progress and info.is_main)
    last_save = time.monotonic()
    step = start
    interrupted = False
    val_dice: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        while step < last:
            record = _train_step(
                net, model, optimizer, loss_fn, sampler, config, dev, amp, fmt, step, info.rank
            )
            step += 1
            record = {"type": "train", "step": step, **record}
            if log is not None:
                log.write(json.dumps(record) + "\n")
                log.flush()
            if bar is not None:
                bar.update(1)
                rate = (
                    (step - start)
                    * config.optim.batch_size
                    * info.world_size
                    / (time.perf_counter() - t0)
                )
                bar.set_postfix(loss=f"{record['loss']:.4f}", img_s=f"{rate:.1f}")
            if step % config.schedule.val_every == 0 or step == steps:
                val_dice = _validate(model, val_samples, config, dev, amp, info)
                if log is not None and val_dice:
                    dice = {k: (None if math.isnan(v) else v) for k, v in val_dice.items()}
                    log.write(json.dumps({"type": "val", "step": step, "dice": dice}) + "\n")
                    log.flush()
            minutes = config.schedule.checkpoint_minutes
            due_by_time = minutes is not None and time.monotonic() - last_save > 60 * minutes
            due = step % config.schedule.checkpoint_every == 0 or step == last
            if distributed.broadcast_flag(info, due or due_by_time):
                _save(ckpt_path, model, optimizer, step, cfg_dict, log, info)
                last_save = time.monotonic()
    except KeyboardInterrupt:
        interrupted = True
        say(f"\ninterrupted at step {step}: saving a checkpoint")
        _save(ckpt_path, model, optimizer, step, cfg_dict, log, info)
    finally:
        if bar is not None:
            bar.close()
        if log is not None:
            log.close()

    weights = None
    if step >= steps and info.is_main:
        if not val_dice:  # a finished run resumed: validate again rather than export no Dice
            val_dice = _validate(model, val_samples, config, dev, amp, info)
        weights = _export(model, config, out, val_dice, step)
        say(f"done: {step} steps; weights in {weights}")
    elif step < steps:
        interrupted = True
        say(f"stopped at step {step} of {steps}; continue with --resume")
    distributed.barrier(info)
    distributed.teardown(info)
    return TrainResult(out, step, interrupted, val_dice, weights)


def _train_step(
    net, model, optimizer, loss_fn, sampler, config, dev, amp, fmt, step, rank
) -> dict[str, Any]:
    torch.manual_seed(step_torch_seed(config.seed, step, rank))
    x, y = sampler.batch(step_rng(config.seed, step, rank), config.optim.batch_size)
    x = x.to(dev).contiguous(memory_format=fmt)
    y = y.to(dev)
    net.train()
    with torch.autocast(dev.type, dtype=amp or torch.float32, enabled=amp is not None):
        out = net(x)
    target = torch.nn.functional.one_hot(y[:, 0], config.model.out_channels).movedim(-1, 1).float()
    seg = loss_fn(out.logits.float(), target)
    vq_loss = out.vq_loss  # every quantiser's loss summed (just the bottleneck's for a VQ-UNet)
    loss = seg + vq_loss if vq_loss is not None else seg
    if not torch.isfinite(loss):
        raise FloatingPointError(f"loss is {loss.item()} at step {step + 1}; lower optim.lr?")
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    if config.optim.grad_clip:
        torch.nn.utils.clip_grad_norm_(model.parameters(), config.optim.grad_clip)
    optimizer.step()
    record: dict[str, Any] = {
        "loss": loss.item(),
        "seg_loss": seg.item(),
        "lr": optimizer.param_groups[0]["lr"],
    }
    if vq_loss is not None:  # the total of all quantisers' losses; the other fields: bottleneck
        record["vq_loss"] = vq_loss.item()
    if out.vq is not None:
        record.update(
            codebook_loss=out.vq.codebook_loss.item(),
            commitment_loss=out.vq.commitment_loss.item(),
            used_codes=int(out.vq.used_codes),
            perplexity=float(out.vq.perplexity),
        )
    for name, q in out.quantizers.items():  # any quantiser besides the bottleneck's
        if name != "bottleneck":
            record[f"used_codes_{name}"] = int(q.used_codes)
            record[f"perplexity_{name}"] = float(q.perplexity)
    return record


class _WithAux(torch.nn.Module):
    """Routes ``forward_with_aux`` through ``forward`` so DDP can wrap it."""

    def __init__(self, model: torch.nn.Module) -> None:
        super().__init__()
        self.model = model

    def forward(self, x: torch.Tensor):
        return self.model.forward_with_aux(x)


def _validate(model, samples, config, dev, amp, info) -> dict[str, float]:
    if not samples or not info.is_main:
        return {}
    return validate(model, samples, config.data.labels, dev, amp, config.data.patch_size)


def _save(path: Path, model, optimizer, step: int, cfg: dict, log, info) -> None:
    if not info.is_main:
        return
    if log is not None:
        log.flush()
    log_bytes = (path.parent.parent / "log.jsonl").stat().st_size
    path.parent.mkdir(parents=True, exist_ok=True)
    save_checkpoint(
        path,
        {
            "model": model.state_dict(),
            "optimizer": optimizer.state_dict(),
            "step": step,
            "config": cfg,
            "log_bytes": log_bytes,
        },
    )


def _export(model, config: TrainConfig, out: Path, val_dice: dict[str, float], step: int) -> Path:
    from vqseg_core.weights import export_weights

    dtype = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": None}[
        config.logging.export_dtype
    ]
    meta = _json_config(config)
    meta["classes"] = {str(k): v for k, v in config.data.labels.items()}
    meta["validation_dice"] = {k: (None if math.isnan(v) else v) for k, v in val_dice.items()}
    model_cpu = model.to("cpu", memory_format=torch.contiguous_format)
    weights, _json_path = export_weights(model_cpu, meta, out, config.name, dtype=dtype)
    summary = {
        "name": config.name,
        "steps": step,
        "validation_dice": meta["validation_dice"],
        "augmentations": list(config.data.augment),
        "weights": weights.name,
    }
    (out / "summary.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    return weights


def _truncate(path: Path, size: int) -> None:
    if path.exists() and path.stat().st_size > size:
        with open(path, "r+b") as f:
            f.truncate(size)


def _progress(start: int, total: int, enabled: bool):
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, initial=start, desc="train", unit="step", dynamic_ncols=True)
