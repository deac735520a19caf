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
import os
import signal
import sys
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
from vqseg_core.reporting import jsonable
from vqseg_core.train import determinism, distributed, events
from vqseg_core.train.config import TrainConfig, config_from_dict, dump_config
from vqseg_core.train.data import Sample, SegmentationData, step_rng, step_torch_seed
from vqseg_core.train.init_from import initialise
from vqseg_core.train.run_guard import RunExistsError, RunLock, sigterm_interrupts
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


def _json_config(config: TrainConfig) -> dict[str, Any]:
    return json.loads(json.dumps(config.to_dict()))


def _with_defaults(saved: dict[str, Any]) -> dict[str, Any]:
    """A checkpoint's config with the fields added since it was written at their defaults
    (e.g. ``model.skip_codebook_size``), so that an old run resumes; a config that no longer
    parses is compared as it is (and refused key by key)."""
    try:
        return _json_config(config_from_dict(saved))
    except (TypeError, ValueError):
        return saved


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
    lock = RunLock(out) if int(os.environ.get("RANK", "0")) == 0 else None
    previous = sigterm_interrupts()
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
    """The body of :func:`train` (same arguments): set up, restore, train the steps, export."""
    run, has_run = _set_up(config, Path(out_dir), resume, device, data, echo)
    start = _restore(run, resume, has_run, allow_config_change)
    _write_config(run)
    steps = config.schedule.steps
    last = min(steps, stop_after) if stop_after is not None else steps
    with determinism.cpu_reproducible(run.dev.type):  # parallel index_put_ adds atomically
        step, interrupted, val_dice = _train_steps(run, start, last)
        return _finish(run, step, interrupted, val_dice)


@dataclass
class _Run:
    """What a run holds while it trains (built by :func:`_set_up`)."""

    config: TrainConfig
    out: Path
    dev: torch.device
    info: distributed.DistInfo
    say: Callable[[str], None]
    model: torch.nn.Module
    optimizer: torch.optim.Optimizer
    loss_fn: torch.nn.Module
    sampler: SegmentationData
    val_samples: list[Sample]
    amp: torch.dtype | None
    fmt: torch.memory_format
    cfg_dict: dict[str, Any]

    @property
    def ckpt_path(self) -> Path:
        """The latest checkpoint of this run."""
        return self.out / CHECKPOINT

    @property
    def log_path(self) -> Path:
        """The run's ``log.jsonl``."""
        return self.out / "log.jsonl"


def _set_up(
    config: TrainConfig,
    out: Path,
    resume: bool,
    device: str,
    data: tuple[list[Sample], list[Sample]] | None,
    echo: Callable[[str], None] | None,
) -> tuple[_Run, bool]:
    """Processes and device, the data, the model with its optimiser and loss.

    Returns:
        The run, and whether ``out`` already held one.

    Raises:
        RunExistsError: ``out`` holds a run and ``resume`` is False.
    """
    dev, info = _join_processes(device)
    say = echo or (lambda m: print(m, file=sys.stderr))
    if not info.is_main:
        say = lambda m: None  # noqa: E731

    has_run = (out / CHECKPOINT).exists() or (out / "log.jsonl").exists()
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
    model, optimizer, loss_fn, amp, fmt = _build(config, dev)
    run = _Run(
        config, out, dev, info, say, model, optimizer, loss_fn, sampler, val_samples, amp, fmt,
        cfg_dict,
    )  # fmt: skip
    return run, has_run


def _join_processes(device: str) -> tuple[torch.device, distributed.DistInfo]:
    """The device, and this process's place under ``torchrun`` (one GPU per local rank)."""
    dev = pick_device(device)
    info = distributed.setup(dev)
    if info.enabled and dev.type == "cuda":
        dev = pick_device("cuda", info.local_rank)
        torch.cuda.set_device(dev)
    return dev, info


def _build(config: TrainConfig, dev: torch.device):
    """``(model, optimizer, loss_fn, amp, fmt)``: the seeded model in its memory format,
    AdamW, Dice + cross-entropy, and the autocast dtype (``None``: full precision)."""
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
    return model, optimizer, loss_fn, amp, fmt


def _restore(run: _Run, resume: bool, has_run: bool, allow_config_change: bool) -> int:
    """The step to start from: the checkpoint's (model, optimiser, log cut back) or 0.

    Raises:
        CheckpointError: the checkpoint is unreadable or does not fit this run.
        ConfigMismatchError: the model or data config changed (without ``allow_config_change``).
    """
    ckpt_path, info = run.ckpt_path, run.info
    if resume and ckpt_path.exists():
        state = load_checkpoint(
            ckpt_path, expected_keys={"model", "optimizer", "step", "config", "log_bytes"}
        )
        check_config_compatible(
            _with_defaults(state["config"]), run.cfg_dict, allow_change=allow_config_change,
            path=ckpt_path,
        )
        load_state_dict_strict(run.model, state["model"], ckpt_path)
        try:
            run.optimizer.load_state_dict(state["optimizer"])
        except (ValueError, KeyError, RuntimeError) as exc:
            raise CheckpointError(ckpt_path, f"optimiser state does not fit: {exc}") from exc
        start = int(state["step"])
        if info.is_main:
            _truncate(run.log_path, int(state["log_bytes"]))
        run.say(f"resuming {run.out} at step {start}")
        return start
    if resume and has_run:
        if info.is_main:  # killed before the first checkpoint: start again from scratch
            run.log_path.unlink(missing_ok=True)
        run.say(f"no checkpoint in {run.out}: starting from step 0")
    if run.config.init_from:  # a fresh start from trained weights (fine-tuning)
        run.say(initialise(run.model, run.config.init_from, run.config.model))
    return 0


def _write_config(run: _Run) -> None:
    """Rank 0 writes ``config.yaml``; every rank waits for it."""
    if run.info.is_main:
        run.out.mkdir(parents=True, exist_ok=True)
        (run.out / "config.yaml").write_text(dump_config(run.config), encoding="utf-8")
    distributed.barrier(run.info)


def _train_steps(run: _Run, start: int, last: int) -> tuple[int, bool, dict[str, float]]:
    """Train steps ``start + 1 .. last``, logging each, validating and saving when due.

    Ctrl-C (and SIGTERM) saves a checkpoint and stops.

    Returns:
        The last step done, whether the run was interrupted, and the latest validation Dice.
    """
    config, info = run.config, run.info
    net: torch.nn.Module = _WithAux(run.model)
    if info.enabled:
        net = DistributedDataParallel(
            net, device_ids=[run.dev.index] if run.dev.type == "cuda" else None
        )
    log = events.open_log(run.log_path, start) if info.is_main else None
    bar = _progress(start, config.schedule.steps, config.logging.progress and info.is_main)
    last_save = time.monotonic()
    step = start
    interrupted = False
    val_dice: dict[str, float] = {}
    t0 = time.perf_counter()
    try:
        while step < last:
            record = _train_step(
                net, run.model, run.optimizer, run.loss_fn, run.sampler, config, run.dev,
                run.amp, run.fmt, step, info.rank,
            )  # fmt: skip
            step += 1
            record = {"type": "train", "step": step, **record}
            _write_log(log, record)
            if bar is not None:
                images = (step - start) * config.optim.batch_size * info.world_size
                _show_progress(bar, record, images / (time.perf_counter() - t0))
            if step % config.schedule.val_every == 0 or step == config.schedule.steps:
                val_dice = _validate(run.model, run.val_samples, config, run.dev, run.amp, info)
                if val_dice:
                    _write_log(log, {"type": "val", "step": step, "dice": jsonable(val_dice)})
            if _checkpoint_due(config, step, last, last_save, info):
                _save(run.ckpt_path, run.model, run.optimizer, step, run.cfg_dict, log, info)
                last_save = time.monotonic()
    except KeyboardInterrupt:
        interrupted = True
        run.say(f"\ninterrupted at step {step}: saving a checkpoint")
        _save(run.ckpt_path, run.model, run.optimizer, step, run.cfg_dict, log, info)
    finally:
        if bar is not None:
            bar.close()
        if log is not None:
            log.close()
    return step, interrupted, val_dice


def _write_log(log, record: dict[str, Any]) -> None:
    """One line of ``log.jsonl`` (rank 0 only: other ranks have no log)."""
    if log is not None:
        log.write(json.dumps(jsonable(record), allow_nan=False) + "\n")  # strict: null, no NaN
        log.flush()


def _show_progress(bar, record: dict[str, Any], images_per_second: float) -> None:
    bar.update(1)
    bar.set_postfix(loss=f"{record['loss']:.4f}", img_s=f"{images_per_second:.1f}")


def _checkpoint_due(
    config: TrainConfig, step: int, last: int, last_save: float, info: distributed.DistInfo
) -> bool:
    """Whether to save after ``step`` (every ``checkpoint_every`` steps, at the last step, or
    ``checkpoint_minutes`` after the last save); rank 0 decides for every rank."""
    minutes = config.schedule.checkpoint_minutes
    due_by_time = minutes is not None and time.monotonic() - last_save > 60 * minutes
    due = step % config.schedule.checkpoint_every == 0 or step == last
    return distributed.broadcast_flag(info, due or due_by_time)


def _finish(run: _Run, step: int, interrupted: bool, val_dice: dict[str, float]) -> TrainResult:
    """Export the weights of a finished run (rank 0), say where a stopped one stands, and leave
    the process group."""
    steps = run.config.schedule.steps
    weights = None
    if step >= steps and run.info.is_main:
        if not val_dice:  # a finished run resumed: validate again rather than export no Dice
            val_dice = _validate(run.model, run.val_samples, run.config, run.dev, run.amp, run.info)
        weights = _export(run.model, run.config, run.out, val_dice, step)
        run.say(f"done: {step} steps; weights in {weights}")
    elif step < steps:
        interrupted = True
        run.say(f"stopped at step {step} of {steps}; continue with --resume")
    distributed.barrier(run.info)
    distributed.teardown(run.info)
    return TrainResult(run.out, step, interrupted, val_dice, weights)


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

    dtypes = {"float16": torch.float16, "bfloat16": torch.bfloat16, "float32": None}
    dtype = dtypes[config.logging.export_dtype]
    meta = _json_config(config)
    meta["classes"] = {str(k): v for k, v in config.data.labels.items()}
    meta["validation_dice"] = jsonable(val_dice)
    model_cpu = model.to("cpu", memory_format=torch.contiguous_format)
    weights, _json_path = export_weights(model_cpu, meta, out, config.name, dtype=dtype)
    summary = {
        "name": config.name,
        "steps": step,
        "validation_dice": meta["validation_dice"],
        "augmentations": list(config.data.augment),
        "weights": weights.name,
    }
    text = json.dumps(jsonable(summary), indent=2, allow_nan=False)
    (out / "summary.json").write_text(text + "\n", encoding="utf-8")
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
