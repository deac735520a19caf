#!/usr/bin/env bash
# Train the seed study of docs/results/seeds.md: three variants x three seeds on JSRT at 128 px.
#   unet   : configs/chest-xray.yaml with model.kind=unet
#   vqunet : configs/chest-xray.yaml (VQ-UNet, k-means codebook init)
#   vqpe   : the VQ-UNet with the authors' bug, model.positional_encoding=replace (the quantiser
#            input is the sinusoidal positional encoding alone; see vqseg_core.models.positional)
# CPU-sized: 128 px (the bundled pair: 256 px), 300 steps of batch 10 (the bundled pair: 3000),
# the same parity split (odd case numbers train, even validate). Resumable: run it again.
# Order: UNet and VQ-UNet of every seed first, the positional-encoding variant last.
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${VENV:-.venv}/bin
STEPS=${STEPS:-300}
[ -f data/jsrt128/dataset.json ] || $BIN/vqseg-data prepare jsrt --source ${SHARED:-../shared/data}/jsrt_scr \
  --size 128 --out data/jsrt128 --quiet
for run in ${RUNS:-unet:1 vqunet:1 unet:2 vqunet:2 unet:3 vqunet:3 vqpe:1 vqpe:2 vqpe:3}; do
  variant=${run%:*} seed=${run#*:}
  case $variant in
    unet) extra=(--set model.kind=unet) ;;
    vqunet) extra=() ;;
    vqpe) extra=(--set model.positional_encoding=replace) ;;
  esac
  name=chest128-$variant-s$seed
  out=runs/seeds/$name
  [ -f "$out/$name.json" ] && continue
  $BIN/vqseg-train configs/chest-xray.yaml "${extra[@]}" --set name=$name --set seed=$seed \
    --set data.dataset="$PWD/data/jsrt128" --set "data.image_size=[128,128]" \
    --set schedule.steps=$STEPS --set schedule.val_every=$STEPS --set schedule.checkpoint_every=100 \
    --set logging.progress=false --out "$out" --resume
done
