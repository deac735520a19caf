"""``curves.png``: a training run's loss, validation Dice and codebook usage, from its log.

``vqseg-train`` writes it at the end of every run (also an interrupted one), so a user can
look at a run without parsing ``log.jsonl``; ``python -m vqseg_core.train.curves RUN`` draws it
again for any run folder. Lines that are not JSON records (a log cut by a kill) are skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

__all__ = ["read_log", "write_curves"]


def read_log(path: str | Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """``(train records, validation records)`` of a ``log.jsonl`` (unreadable lines skipped)."""
    train, val = [], []
    for line in Path(path).read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and record.get("type") == "train":
            train.append(record)
        elif isinstance(record, dict) and record.get("type") == "val":
            val.append(record)
    return train, val


def write_curves(run: str | Path, out: str | Path | None = None) -> Path | None:
    """Draw ``RUN/curves.png`` (or ``out``) from ``RUN/log.jsonl``; ``None`` without records.

    Panels: training loss (and the segmentation term when a VQ term exists); validation Dice
    per class; codebook codes used per batch and perplexity (VQ networks only).
    """
    from matplotlib.figure import Figure

    run = Path(run)
    train, val = read_log(run / "log.jsonl")
    if not train:
        return None
    vq = any("used_codes" in r for r in train)
    fig = Figure(figsize=(12 if vq else 8, 3.6), dpi=100)
    axes = fig.subplots(1, 3 if vq else 2)
    steps = [r["step"] for r in train]
    axes[0].plot(steps, [r.get("loss") for r in train], lw=0.8, label="loss")
    if any("vq_loss" in r for r in train):
        axes[0].plot(steps, [r.get("seg_loss") for r in train], lw=0.8, label="segmentation")
    axes[0].set(title="training loss", xlabel="step", yscale="log")
    axes[0].legend(fontsize=8)
    classes = list(dict.fromkeys(c for r in val for c in (r.get("dice") or {})))
    for c in classes:
        pts = [(r["step"], r["dice"][c]) for r in val if c in (r.get("dice") or {})]
        axes[1].plot(*zip(*pts, strict=True), marker="o", ms=3, label=c)
    axes[1].set(title="validation Dice (held-out cases)", xlabel="step")
    if classes:
        axes[1].legend(fontsize=8)
    if vq:
        used = [(r["step"], r["used_codes"]) for r in train if "used_codes" in r]
        axes[2].plot(*zip(*used, strict=True), lw=0.8, label="codes used per batch")
        perplexity = [(r["step"], r["perplexity"]) for r in train if "perplexity" in r]
        if perplexity:
            axes[2].plot(*zip(*perplexity, strict=True), lw=0.8, label="perplexity")
        axes[2].set(title="codebook usage", xlabel="step", yscale="log")
        axes[2].legend(fontsize=8)
    for ax in axes:
        ax.grid(True, lw=0.4, alpha=0.5)
    fig.suptitle(run.name, fontsize=10)
    fig.tight_layout()
    path = Path(out) if out is not None else run / "curves.png"
    fig.savefig(path)
    return path


if __name__ == "__main__":  # pragma: no cover - a thin command
    for folder in sys.argv[1:] or ["."]:
        print(write_curves(folder) or f"{folder}: no training records in log.jsonl")
