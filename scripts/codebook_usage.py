"""Codebook usage of the codebook-health runs on the JSRT held-out cases.

For every finished run under ``--root`` (``NAME/NAME.json`` + ``.safetensors``, written by
``scripts/codebook_health.sh``), this loads the exported weights, encodes every held-out case
(JSRT even case numbers: the parity split's validation half of ``--data``, preprocessed with the
chest recipe at 128 px, float32 on the CPU) and reports:

* ``used_heldout``: distinct codes over the whole held-out set (of K);
* ``perplexity``: ``exp(entropy)`` of the pooled code histogram (``codebook_stats``);
* ``codes_per_image``: distinct codes per image, mean (and min, max) over the held-out cases;
* ``train_used_last20``: codes used per training batch, mean over the last 20 steps of ``log.jsonl``;
* ``lungs`` / ``heart``: the held-out Dice stored in the export (``validation_dice``, computed by
  the training loop at its last step), and ``d_lungs_vs_unet``: lungs minus the ``unet`` run's.

``usage.md`` adds the codes used per training batch at a few steps (the restart waves of
``dead_code_threshold=0.25`` are due at steps 139 and 277). Writes ``usage.csv`` and ``usage.md``
into ``--out`` and copies each finished run's ``log.jsonl`` there as ``NAME.log.jsonl``.
Unfinished runs are listed as such.

    .venv/bin/python scripts/codebook_usage.py            # defaults below
"""

from __future__ import annotations

import argparse
import csv
import json
import shutil
import sys
from pathlib import Path

import numpy as np
import torch

from vqseg_core.analysis import codebook_stats
from vqseg_core.data.layouts import case_spacing, read_dataset, split_by_parity
from vqseg_core.data.preprocess import get_recipe
from vqseg_core.io import load_image
from vqseg_core.models import ModelConfig, build_model
from vqseg_core.weights import load_weights

FIELDS = [
    "run",
    "options",
    "K",
    "D",
    "used_heldout",
    "perplexity",
    "codes_per_image",
    "codes_per_image_min",
    "codes_per_image_max",
    "train_used_last20",
    "lungs",
    "heart",
    "d_lungs_vs_unet",
    "steps",
]


def options(model: dict) -> str:
    """The quantiser options of a run, in words (``-`` for the UNet)."""
    if model["kind"] == "unet":
        return "UNet (no quantiser)"
    parts = [f"init={model['codebook_init']}"]
    if model.get("ema_decay") is not None:
        parts.append(f"ema={model['ema_decay']}")
    if model.get("dead_code_threshold") is not None:
        parts.append(f"restart<{model['dead_code_threshold']}")
    if model.get("cosine"):
        parts.append("cosine")
    parts.append(f"dim={model['codebook_dim']}")
    parts.append(f"beta={model['beta']} on {model['beta_on']}")
    return ", ".join(parts)


def heldout_images(data: Path, size: tuple[int, int]) -> tuple[list[str], torch.Tensor]:
    """The even-numbered (validation) cases of ``data`` on the model grid: ids and ``(N, 1, H, W)``."""
    recipe = get_recipe("chest_xray").replace(target_shape=size, target_spacing=None)
    cases = split_by_parity(read_dataset(data).cases)["even"]
    ids, arrays = [], []
    for case in cases:
        image = load_image(case.image)
        x, _ctx = recipe.apply(image.array, case_spacing(case, image))
        ids.append(case.case_id)
        arrays.append(np.asarray(x, dtype=np.float32))
    return ids, torch.from_numpy(np.stack(arrays))[:, None]


def train_used_last(log: Path, n: int = 20) -> float | None:
    used = []
    for line in log.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec.get("type") == "train" and "used_codes" in rec:
            used.append(rec["used_codes"])
    return float(np.mean(used[-n:])) if used else None


TRAJECTORY_STEPS = (1, 2, 10, 50, 100, 138, 139, 140, 200, 250, 277, 300)


def trajectory(log: Path, steps: tuple[int, ...] = TRAJECTORY_STEPS) -> dict[int, int]:
    """Codes used per training batch at ``steps`` (from ``log.jsonl``)."""
    out = {}
    for line in log.read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec.get("type") == "train" and rec.get("step") in steps and "used_codes" in rec:
            out[rec["step"]] = rec["used_codes"]
    return out


def trajectory_table(runs: list[Path]) -> str:
    """Markdown: codes used per training batch (640 latent vectors) at a few steps, per VQ run."""
    lines = [
        "Codes used per training batch (10 x 64 = 640 latent vectors), from each run's log.jsonl:",
        "",
        "| arm | " + " | ".join(f"step {s}" for s in TRAJECTORY_STEPS) + " |",
        "|---|" + "---|" * len(TRAJECTORY_STEPS),
    ]
    for run in runs:
        t = trajectory(run / "log.jsonl")
        if not t:
            continue
        lines.append(
            f"| {run.name} | " + " | ".join(str(t.get(s, "")) for s in TRAJECTORY_STEPS) + " |"
        )
    return "\n".join(lines) + "\n"


def analyse(run: Path, images: torch.Tensor) -> dict:
    name = run.name
    state, config = load_weights(run / f"{name}.json")
    mcfg = config["model"]
    dice = config.get("validation_dice") or {}
    row: dict = {
        "run": name,
        "options": options(mcfg),
        "lungs": dice.get("lungs"),
        "heart": dice.get("heart"),
        "steps": config.get("schedule", {}).get("steps"),
        "train_used_last20": train_used_last(run / "log.jsonl"),
    }
    if mcfg["kind"] == "unet":
        return row
    model = build_model(ModelConfig.from_dict(mcfg))
    model.load_state_dict(state)
    model.eval()
    indices = []
    with torch.inference_mode():
        for start in range(0, images.shape[0], 16):
            indices.append(model.encode(images[start : start + 16]).indices)
    idx = torch.cat(indices)  # (N, h, w)
    codebook = model.quantizer.effective_codebook().detach()
    stats = codebook_stats(codebook, idx)
    per_image = [int(torch.unique(i).numel()) for i in idx]
    row.update(
        K=stats.codebook_size,
        D=int(codebook.shape[1]),
        used_heldout=stats.used,
        perplexity=stats.perplexity,
        codes_per_image=float(np.mean(per_image)),
        codes_per_image_min=min(per_image),
        codes_per_image_max=max(per_image),
    )
    return row


def fmt(value, digits: int = 3) -> str:
    if value is None or value == "":
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def markdown(rows: list[dict], unfinished: list[str], n_images: int, side: int) -> str:
    lines = [
        f"Held-out: {n_images} JSRT cases (even case numbers), latent grid {side}x{side} "
        f"= {side * side} positions per image.",
        "",
        "| arm | options | codes used over held-out (of K) | perplexity | codes per image, mean "
        "(min-max) | codes per batch, last 20 training steps | lungs Dice | heart Dice | "
        "lungs - UNet lungs |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for r in rows:
        if r.get("used_heldout") is None:
            used = per = perp = "-"
        else:
            used = f"{r['used_heldout']} (of {r['K']})"
            perp = fmt(r["perplexity"], 2)
            per = (
                f"{fmt(r['codes_per_image'], 1)} ({r['codes_per_image_min']}-"
                f"{r['codes_per_image_max']})"
            )
        train = fmt(r.get("train_used_last20"), 1) or "-"
        diff = r.get("d_lungs_vs_unet")
        diff = "-" if diff is None else f"{diff:+.4f}"
        lines.append(
            f"| {r['run']} | {r['options']} | {used} | {perp} | {per} | {train} | "
            f"{fmt(r['lungs'], 4)} | {fmt(r['heart'], 4)} | "
            f"{diff} |"
        )
    if unfinished:
        lines += ["", "Not finished (no export yet): " + ", ".join(unfinished) + "."]
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path("runs/codebook"))
    parser.add_argument("--data", type=Path, default=Path("data/jsrt128"))
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--out", type=Path, default=Path("docs/results/codebook-health"))
    parser.add_argument("--threads", type=int, default=1)
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    runs = sorted(p for p in args.root.iterdir() if p.is_dir())
    finished = [p for p in runs if (p / f"{p.name}.json").is_file()]
    unfinished = [p.name for p in runs if p not in finished]
    if not finished:
        print(f"no finished run under {args.root}", file=sys.stderr)
        return 1
    ids, images = heldout_images(args.data, (args.size, args.size))
    rows = [analyse(run, images) for run in finished]
    unet = next((r for r in rows if r["run"] == "unet"), None)
    for r in rows:
        if unet is not None and r["lungs"] is not None and unet["lungs"] is not None:
            r["d_lungs_vs_unet"] = r["lungs"] - unet["lungs"]
    rows.sort(key=lambda r: (r["run"] != "unet", r["run"]))

    args.out.mkdir(parents=True, exist_ok=True)
    with open(args.out / "usage.csv", "w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, FIELDS, extrasaction="ignore")
        writer.writeheader()
        for r in rows:
            writer.writerow({k: fmt(r.get(k), 4) for k in FIELDS})
    table = markdown(rows, unfinished, len(ids), args.size // 16)
    table += "\n" + trajectory_table(finished)
    (args.out / "usage.md").write_text(table, encoding="utf-8")
    for run in finished:
        shutil.copyfile(run / "log.jsonl", args.out / f"{run.name}.log.jsonl")
    print(table, end="")
    return 0


if __name__ == "__main__":
    sys.exit(main())
