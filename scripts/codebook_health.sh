#!/usr/bin/env bash
# Codebook-health probe (issue "Does vector quantisation help?", item 1): which quantiser options
# keep the VQ-UNet's codebook alive on JSRT. Results: docs/results/codebook-health/.
#
# Every arm is configs/chest-xray.yaml trained exactly like scripts/seed_study_train.sh: JSRT at
# 128 px, parity split (odd case numbers train, even validate), batch 10, $STEPS steps (default
# 300), seed 1, validation at the last step only. About 7 s per step under this session's load
# (20 steps timed: 158 s wall with start-up and validation), so the arms run in order of what they
# tell: the two standard fixes and the UNet reference first, the baseline (its collapse is known
# from docs/training.md) after them. Arms (model.* overrides on top of the chest
# config, which already sets codebook_init=kmeans, K=1024, D=256, beta=0.25 on the codebook term):
#   cb-ema-restart      ema_decay=0.99, dead_code_threshold=$THRESH
#   unet                model.kind=unet (the clean-Dice reference)
#   cb-cos-restart      cosine=true, dead_code_threshold=$THRESH
#   cb-restart-d32      dead_code_threshold=$THRESH, codebook_dim=32
#   cb-base             nothing (the chest config as shipped: k-means init, no EMA, no restart)
#   cb-ema-restart-d32  ema_decay=0.99, dead_code_threshold=$THRESH, codebook_dim=32
#   cb-cos              cosine=true
#   cb-commit           beta_on=commitment
# dead_code_threshold is in assignments per batch (the quantiser's `usage` buffer: an EMA with
# decay 0.99 of each code's count per training batch, starting at 1.0). A batch holds
# 10 x 8 x 8 = 640 latent vectors, so a codebook used evenly gives 640 / 1024 = 0.625 per code;
# THRESH=0.25 calls a code dead when it is picked less than once every 4 batches, and restarts a
# code unused since the start after ln(0.25) / ln(0.99) = 138 steps (twice within 300 steps).
# See docs/results/codebook-health/README.md.
#
# Resumable: finished runs (export present) are skipped, unfinished ones continue with --resume.
# Environment: RUNS (space-separated arm names, default all, in the order above), STEPS, THRESH,
# ROOT (default runs/codebook), VENV. Run with one thread on the shared CPU:
#   OMP_NUM_THREADS=1 MKL_NUM_THREADS=1 nohup nice -n 10 scripts/codebook_health.sh \
#     > runs/codebook/series.log 2>&1 &
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
STEPS=${STEPS:-300}
THRESH=${THRESH:-0.25}
ROOT=${ROOT:-runs/codebook}
[ -f data/jsrt128/dataset.json ] || $BIN/vqseg-data prepare jsrt --source ${SHARED:-../shared/data}/jsrt_scr \
  --size 128 --out data/jsrt128 --quiet
ALL="cb-ema-restart unet cb-cos-restart cb-restart-d32 cb-base cb-ema-restart-d32 cb-cos cb-commit"
for name in ${RUNS:-$ALL}; do
  case $name in
    cb-ema-restart) extra=(--set model.ema_decay=0.99 --set model.dead_code_threshold=$THRESH) ;;
    cb-base) extra=() ;;
    unet) extra=(--set model.kind=unet) ;;
    cb-cos-restart) extra=(--set model.cosine=true --set model.dead_code_threshold=$THRESH) ;;
    cb-restart-d32) extra=(--set model.dead_code_threshold=$THRESH --set model.codebook_dim=32) ;;
    cb-ema-restart-d32) extra=(--set model.ema_decay=0.99 --set model.dead_code_threshold=$THRESH
      --set model.codebook_dim=32) ;;
    cb-cos) extra=(--set model.cosine=true) ;;
    cb-commit) extra=(--set model.beta_on=commitment) ;;
    *) echo "unknown arm: $name" >&2; exit 2 ;;
  esac
  out=$ROOT/$name
  [ -f "$out/$name.json" ] && { echo "$name: finished, skipped"; continue; }
  echo "$name: start $(date -u +%FT%TZ)"
  start=$(date +%s)
  $BIN/vqseg-train configs/chest-xray.yaml "${extra[@]}" --set name=$name --set seed=1 \
    --set data.dataset="$PWD/data/jsrt128" --set "data.image_size=[128,128]" \
    --set schedule.steps=$STEPS --set schedule.val_every=$STEPS --set schedule.checkpoint_every=100 \
    --set logging.progress=false --out "$out" --resume
  echo "$name: done $(date -u +%FT%TZ) ($(( $(date +%s) - start )) s wall)"
done
