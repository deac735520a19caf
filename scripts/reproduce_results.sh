#!/usr/bin/env bash
# Reproduce docs/results/: robustness of the bundled `chest-xray` pair (UNet vs VQ-UNet) on real data.
#
# Needs the raw data in ../shared/data (JSRT/SCR and Shenzhen: research use, never committed).
# Outputs go to runs/results/ (git-ignored); the small tables/CSVs/PNGs are then copied to docs/results/.
# Written for a 2-core CPU machine shared with other jobs: one thread, one command at a time.
# Run from the repository root:  bash scripts/reproduce_results.sh
set -euo pipefail
cd "$(dirname "$0")/.."

export OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 OPENBLAS_NUM_THREADS=1
BIN=.venv/bin
OUT=${OUT:-runs/results}   # a fresh folder: cells computed before the PNG-spacing fix were in px
SHARED=../shared/data   # = /work/shared/data

# --- 1. data (ignored data/ folder) -------------------------------------------------------------
# data/jsrt256 = JSRT at 256 px (1.4 mm), exactly what the bundled pair was trained/validated on
# (registry.json: "prepared with `vqseg-data prepare jsrt --size 256`").
[ -f data/jsrt256/dataset.json ] || $BIN/vqseg-data prepare jsrt --source $SHARED/jsrt_scr --size 256 --out data/jsrt256 --quiet
# data/jsrt = native 1024 px (0.35 mm); prepared as asked, used only for a cross-check (not in the tables)
[ -f data/jsrt/dataset.json ] || $BIN/vqseg-data prepare jsrt --source $SHARED/jsrt_scr --out data/jsrt --quiet
[ -f data/shenzhen/dataset.json ] || $BIN/vqseg-data prepare shenzhen --source $SHARED/shenzhen_mini10 --out data/shenzhen --quiet

# Held-out cases: the parity split's validation side (even case numbers, 101 cases present).
# Noise: every other held-out case in id order (51 cases: 33 JPCLN nodule + 18 JPCNN non-nodule),
# what fits in ~15 CPU-minutes. Latent: every 10th held-out case starting at the 6th (10 cases).
source scripts/chest_cases.sh   # NOISE_CASES (51 held-out ids), LATENT_CASES (10)

# --- 2. noise: Dice / HD95 under Gaussian, salt-and-pepper, Poisson at 0-30 % (Table 3) ----------
# (--cases replaces --split; the ids above are all even = held out)
time $BIN/vqseg-eval noise data/jsrt256 --pair chest-xray --cases $NOISE_CASES \
  --kinds gaussian salt_and_pepper poisson --levels 0 1 5 10 20 30 --draws 5 --seed 0 \
  --device cpu --no-progress --out $OUT/noise

# --- 3. latent: latent variance, code-flip rate, heatmaps (Table 2, Fig. 2) ----------------------
time $BIN/vqseg-eval latent data/jsrt256 --pair chest-xray --cases $LATENT_CASES \
  --kinds gaussian salt_and_pepper poisson --levels 0 1 5 10 20 30 --draws 20 --seed 0 \
  --device cpu --no-progress --out $OUT/latent

# --- 4. shift: JSRT held-out (all 101 even cases) -> Shenzhen (10 cases), clean images (Table 4) --
time $BIN/vqseg-eval shift --in-domain data/jsrt256 --shifted data/shenzhen --pair chest-xray \
  --split val --split-method parity --device cpu --no-progress --out $OUT/shift

# --- 4b. cross-check on the native 1024 px grid (data/jsrt, 0.35 mm): clean images only -------------
time $BIN/vqseg-eval shift --in-domain data/jsrt --shifted data/shenzhen --pair chest-xray \
  --split val --split-method parity --device cpu --no-progress --out $OUT/shift1024

# --- 5. one self-contained HTML page --------------------------------------------------------------
time $BIN/vqseg-eval report $OUT/noise $OUT/latent $OUT/shift --out $OUT/report.html \
  --title "chest-xray pair: UNet vs VQ-UNet on JSRT held-out and Shenzhen"

# --- 6. extra summaries used in docs/results/README.md (paired differences, lung-only shift,
#        HD95 converted from pixels to mm, codebook usage) -------------------------------------------
mkdir -p docs/results
time $BIN/python - "$OUT" docs/results <<'EOF'
"""Paired VQ-UNet minus UNet differences, lung-only shift, HD95 in mm, codebook usage."""
import csv, json, math, sys
from pathlib import Path
import numpy as np, torch
from scipy.stats import wilcoxon
torch.set_num_threads(1)
from vqseg_core.evaluation import CellStore, CaseSelection, select_cases, load_case
from vqseg_core.metrics import summarize
from vqseg_core.pretrained import load_pair
from vqseg_core.analysis import codebook_stats, flip_radius

run, res = Path(sys.argv[1]), Path(sys.argv[2])
MM = 1.0  # HD95 is in mm already: the loader reads the 1.4 mm pixel size from data/jsrt256/dataset.json
f = lambda v, d=3: "–" if v is None or (isinstance(v, float) and math.isnan(v)) else (f"{v:.1e}" if v != 0 and abs(v) < 10 ** -d else f"{v:.{d}f}")

def ms(vals, d=3):
    s = summarize(vals)
    return f"{f(s.mean, d)} ± {f(s.sd, d)}" if s.n else "–"

def paired(u, v, d=3):
    """VQ-UNet minus UNet over cases: mean [95% t-CI], n, Wilcoxon p, cases VQ > UNet."""
    u, v = np.asarray(u, float), np.asarray(v, float)
    ok = ~(np.isnan(u) | np.isnan(v)); diff = (v - u)[ok]
    s = summarize(diff.tolist())
    p = float("nan") if not diff.any() else float(wilcoxon(diff).pvalue)
    return s, p, int((diff > 0).sum()), int((diff < 0).sum())

# ---------------- noise ----------------
rows = CellStore(run / "noise" / "cells.jsonl").records()
# the clean image is scored once per case and reported under every kind (as cases.csv does)
kinds = list(dict.fromkeys(r["kind"] for r in rows))
rows = [r for r in rows if float(r["level"]) != 0.0] + [
    {**r, "kind": k} for r in rows if float(r["level"]) == 0.0 for k in kinds]
for r in rows:
    for c in ("lungs", "heart"):
        r[f"hd95mm_{c}"] = r[f"hd95_{c}"] * MM
    r["hd95mm_mean"] = r["hd95_mean"] * MM
by = {(r["kind"], float(r["level"]), r["model"], r["case_id"]): r for r in rows}
kinds = list(dict.fromkeys(r["kind"] for r in rows)); levels = sorted({float(r["level"]) for r in rows})
cases = sorted({r["case_id"] for r in rows})
out_rows, md = [], []
metrics = [("dice_mean", "Dice (mean of lungs, heart)", 3, False), ("dice_lungs", "Dice lungs", 3, False),
           ("dice_heart", "Dice heart", 3, False), ("hd95mm_lungs", "HD95 lungs (mm)", 2, True),
           ("hd95mm_heart", "HD95 heart (mm)", 2, True)]
for metric, label, d, lower in metrics:
    md += [f"### {label}: VQ-UNet minus UNet, paired over cases", "",
           "| kind | level % | n | UNet mean ± sd | VQ-UNet mean ± sd | diff VQ−UNet mean [95% CI] | Wilcoxon p | cases VQ>UNet / VQ<UNet | change vs 0 %: UNet | change vs 0 %: VQ-UNet | diff of changes VQ−UNet [95% CI] |",
           "|---|---|---|---|---|---|---|---|---|---|---|"]
    for k in kinds:
        for lv in levels:
            u = [by[k, lv, "unet", c][metric] for c in cases if (k, lv, "unet", c) in by and (k, lv, "vqunet", c) in by]
            v = [by[k, lv, "vqunet", c][metric] for c in cases if (k, lv, "unet", c) in by and (k, lv, "vqunet", c) in by]
            cc = [c for c in cases if (k, lv, "unet", c) in by and (k, lv, "vqunet", c) in by and (k, 0.0, "unet", c) in by]
            du = [by[k, lv, "unet", c][metric] - by[k, 0.0, "unet", c][metric] for c in cc]
            dv = [by[k, lv, "vqunet", c][metric] - by[k, 0.0, "vqunet", c][metric] for c in cc]
            s, p, nb, nw = paired(u, v)
            sd_, _, _, _ = paired(du, dv)
            md.append(f"| {k} | {lv:g} | {s.n} | {ms(u, d)} | {ms(v, d)} | {f(s.mean, d)} [{f(s.ci_low, d)}, {f(s.ci_high, d)}] | {f(p, 3) if p == p else '–'} | {nb} / {nw} | {f(summarize(du).mean, d)} | {f(summarize(dv).mean, d)} | {f(sd_.mean, d)} [{f(sd_.ci_low, d)}, {f(sd_.ci_high, d)}] |")
            out_rows.append(dict(metric=metric, kind=k, level=lv, n=s.n, unet_mean=summarize(u).mean, unet_sd=summarize(u).sd,
                                 vqunet_mean=summarize(v).mean, vqunet_sd=summarize(v).sd, diff_mean=s.mean, diff_ci_low=s.ci_low,
                                 diff_ci_high=s.ci_high, wilcoxon_p=p, n_vq_better=(nw if lower else nb), n_vq_worse=(nb if lower else nw),
                                 unet_change=summarize(du).mean, vqunet_change=summarize(dv).mean, change_diff=sd_.mean,
                                 change_diff_ci_low=sd_.ci_low, change_diff_ci_high=sd_.ci_high))
    md.append("")
empties = {(r["model"], r["kind"]): 0 for r in rows}
for r in rows:
    empties[r["model"], r["kind"]] += int(r.get("empty_any", 0))
md += ["Draws with a class present in the ground truth but not predicted (all cases, all levels): " +
       ", ".join(f"{m} {k}: {n}" for (m, k), n in empties.items()), ""]
(res / "noise_paired.md").write_text("\n".join(md), encoding="utf-8")
with (res / "noise_paired.csv").open("w", newline="") as fh:
    w = csv.DictWriter(fh, list(out_rows[0])); w.writeheader(); w.writerows(out_rows)

import matplotlib; matplotlib.use("Agg"); import matplotlib.pyplot as plt
fig, axes = plt.subplots(1, 3, figsize=(12, 3.4), dpi=100)
for ax, (metric, label) in zip(axes, [("dice_lungs", "Dice lungs"), ("dice_heart", "Dice heart"), ("hd95mm_lungs", "HD95 lungs (mm)")]):
    for k, col in zip(kinds, ["tab:red", "tab:green", "tab:purple"]):
        sel = [r for r in out_rows if r["metric"] == metric and r["kind"] == k]
        x = [r["level"] for r in sel]; m = np.array([r["diff_mean"] for r in sel])
        ax.plot(x, m, "o-", color=col, label=k)
        ax.fill_between(x, [r["diff_ci_low"] if r["n"] > 1 else r["diff_mean"] for r in sel],
                        [r["diff_ci_high"] if r["n"] > 1 else r["diff_mean"] for r in sel], color=col, alpha=0.2, lw=0)
    ax.axhline(0, color="k", lw=0.8); ax.set_xlabel("noise level (%)"); ax.set_title(f"{label}: VQ-UNet − UNet (paired, 95% CI)", fontsize=9)
    ax.grid(alpha=0.3)
axes[0].legend(fontsize=8)
fig.tight_layout(); fig.savefig(res / "paired_difference_vs_level.png"); plt.close(fig)

# ---------------- shift (lung-only comparison) ----------------
srows = CellStore(run / "shift" / "cells.jsonl").records()
md = ["### Domain shift, lungs only (the only class both datasets label)", "",
      "| dataset | n | metric | UNet mean ± sd | VQ-UNet mean ± sd | diff VQ−UNet mean [95% CI] | Wilcoxon p | cases VQ better / worse |",
      "|---|---|---|---|---|---|---|---|"]
sh_out = []
for ds in dict.fromkeys(r["dataset"] for r in srows):
    sel = {(r["model"], r["case_id"]): r for r in srows if r["dataset"] == ds}
    ids = sorted({c for _, c in sel})
    scale, unit = (MM, "mm") if ds.startswith("jsrt") else (1.0, "px of the 512 px image; spacing unknown")
    for metric, label, lower, d in [("dice_lungs", "Dice lungs", False, 3), ("hd95_lungs", f"HD95 lungs ({unit})", True, 2),
                                    ("dice_heart", "Dice heart", False, 3)]:
        if all(sel["unet", c][metric] != sel["unet", c][metric] for c in ids):  # all nan: not scored
            md.append(f"| {ds} | 0 | {label} (not scored: no such label) | – | – | – | – | – |")
            continue
        u = [sel["unet", c][metric] * (scale if metric.startswith("hd95") else 1) for c in ids]
        v = [sel["vqunet", c][metric] * (scale if metric.startswith("hd95") else 1) for c in ids]
        s, p, nb, nw = paired(u, v)
        better, worse = (nw, nb) if lower else (nb, nw)
        md.append(f"| {ds} | {s.n} | {label} | {ms(u, d)} | {ms(v, d)} | {f(s.mean, d)} [{f(s.ci_low, d)}, {f(s.ci_high, d)}] | {f(p, 3) if p == p else '–'} | {better} / {worse} |")
        sh_out.append(dict(dataset=ds, metric=metric, unit=(("mm" if ds.startswith("jsrt") else "px") if metric.startswith("hd95") else ""),
                           n=s.n, unet_mean=summarize(u).mean, unet_sd=summarize(u).sd, vqunet_mean=summarize(v).mean,
                           vqunet_sd=summarize(v).sd, diff_mean=s.mean, diff_ci_low=s.ci_low, diff_ci_high=s.ci_high, wilcoxon_p=p))
    if ds == "shenzhen":
        md.append("\nShenzhen has no heart label: heart is not scored there, so the tool's "
                  "mean-over-classes Dice for Shenzhen is the lung Dice.")
(res / "shift_lungs.md").write_text("\n".join(md) + "\n", encoding="utf-8")
with (res / "shift_lungs.csv").open("w", newline="") as fh:
    w = csv.DictWriter(fh, list(sh_out[0])); w.writeheader(); w.writerows(sh_out)

# ---------------- codebook usage on clean images ----------------
pair = load_pair("chest-xray"); model = pair.models["vqunet"].eval()
cb = model.quantizer.codebook.detach().float()
info = {}
for name, path, sel in [("jsrt256 held-out (even)", "data/jsrt256", CaseSelection(split="val", method="parity")),
                        ("shenzhen", "data/shenzhen", CaseSelection(split="all"))]:
    idx, feats, per_image = [], [], []
    for case in select_cases(path, sel):
        lc = load_case(case)
        x, _ = pair.preprocess(lc.array, lc.spacing)
        with torch.inference_mode():
            enc = model.encode(torch.from_numpy(np.ascontiguousarray(x, dtype=np.float32))[None])
        idx.append(enc.indices); feats.append(enc.features)
        per_image.append(int(torch.unique(enc.indices).numel()))
    idx = torch.cat(idx); st = codebook_stats(cb, idx)
    counts = torch.bincount(idx.reshape(-1), minlength=cb.shape[0])
    top = torch.argsort(counts, descending=True)[: st.used]
    rad = flip_radius(torch.cat(feats), cb)
    info[name] = {**st.as_dict(), "images": len(per_image), "latent_positions_per_image": int(idx[0].numel()),
                  "used_codes_per_image_mean": float(np.mean(per_image)), "used_codes_per_image_min": int(min(per_image)),
                  "used_codes_per_image_max": int(max(per_image)),
                  "code_shares": {int(c): round(float(counts[c] / counts.sum()), 4) for c in top},
                  "flip_radius_median": float(rad.median()), "flip_radius_p05": float(rad.quantile(0.05))}
md = ["### VQ-UNet codebook usage on clean images (K = 1024)", "",
      "| images | n | codes used | dead | perplexity | codes per image (mean, min-max) | shares of the used codes | r over used codes (L2) | median / 5th pct. flip radius |",
      "|---|---|---|---|---|---|---|---|---|"]
for name, i in info.items():
    shares = ", ".join(f"#{c}: {v:.3f}" for c, v in i["code_shares"].items())
    md.append(f"| {name} | {i['images']} | {i['used']} | {i['dead']} | {i['perplexity']:.2f} | {i['used_codes_per_image_mean']:.2f} ({i['used_codes_per_image_min']}-{i['used_codes_per_image_max']}) "
              f"of {i['latent_positions_per_image']} positions | {shares} | {i['r_used']:.3f} | {i['flip_radius_median']:.3f} / {i['flip_radius_p05']:.3f} |")
md += ["", "Flip radius: L2 distance from a clean latent vector to the nearest boundary of its code's Voronoi cell "
       "(vqseg_core.analysis.flip_radius); r: half the mean distance between each used code and its nearest used code."]
(res / "codebook.md").write_text("\n".join(md) + "\n", encoding="utf-8")
print("\n".join(md))
EOF

# --- 7. copy the small generated files next to the summaries ---------------------------------------
mkdir -p docs/results/plots
cp $OUT/noise/table.md docs/results/noise_table.md
cp $OUT/noise/cases.csv docs/results/noise_cases.csv
cp $OUT/latent/table.md docs/results/latent_table.md
cp $OUT/latent/latent.csv docs/results/latent_cases.csv
cp $OUT/shift/table.md docs/results/shift_table.md
cp $OUT/shift/shift.csv docs/results/shift_cases.csv
cp $OUT/shift1024/table.md docs/results/shift1024_table.md
cp $OUT/noise/plots/*.png $OUT/latent/heatmaps/*.png docs/results/plots/
cp $OUT/report.html docs/results/report.html
