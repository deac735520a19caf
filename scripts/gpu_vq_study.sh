#!/usr/bin/env bash
# Device-machine script (CUDA): train the VQ study's missing runs on one GPU, several at once,
# and the candidate bundled chest models (256 px, the standard augmentation), then bring back
# every run's export, weights and log. Run through the session's device tool with `.whl`
# (monai + nibabel wheels), `data/jsrt128`, `data/jsrt256` and `runs/studies/vq/runs` (so that
# finished and partial runs are kept and resumed) carried; copy $OUT/study/* back into
# runs/studies/vq/runs/ and evaluate on the CPU (`vqseg-study evaluate`).
#   WORKERS   training processes sharing the GPU (default 6)
#   BUNDLED=1 also train the 256-px chest candidates (UNet, healthy VQ-UNet, noise-augmented
#             UNet and VQ-UNet: configs/chest-xray.yaml + the study's augmentation)
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
echo "# stub for the device run" > /tmp/site/SimpleITK.py  # the PNG paths never call it
export PYTHONPATH=$PWD/src:/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee $OUT/gpu.txt
SPEC=configs/studies/vq-chest128.yaml
STUDY=runs/studies/vq
s0=$(date +%s)
pids=()
for w in $(seq 1 ${WORKERS:-6}); do
  python3 -m vqseg_core.cli.study train $SPEC --out $STUDY --device cuda > $OUT/worker$w.log 2>&1 &
  pids+=($!)
  sleep 2
done
if [ "${BUNDLED:-0}" = 1 ]; then
  for arm in unet vqunet unet-noise vqunet-noise; do
    extra=(--set "data.augment=[affine, contrast]")
    case $arm in
      unet) extra+=(--set model.kind=unet) ;;
      vqunet) extra+=(--set model.codebook_preset=healthy) ;;
      unet-noise) extra=(--set model.kind=unet --set "data.augment=[affine, contrast, corrupt]") ;;
      vqunet-noise) extra=(--set model.codebook_preset=healthy --set "data.augment=[affine, contrast, corrupt]") ;;
    esac
    python3 -m vqseg_core.cli.train configs/chest-xray.yaml --device cuda --resume \
      --out runs/bundled/chest-xray-$arm --set data.dataset=$PWD/data/jsrt256 \
      --set name=chest-xray-$arm --set logging.progress=false "${extra[@]}" \
      > $OUT/bundled-$arm.log 2>&1 &
    pids+=($!)
  done
fi
for pid in "${pids[@]}"; do wait "$pid" || true; done
echo "trained in $(( $(date +%s) - s0 )) s" | tee -a $OUT/gpu.txt
mkdir -p $OUT/study $OUT/bundled
for d in $STUDY/runs/*/; do
  name=$(basename $d)
  mkdir -p $OUT/study/$name
  cp $d/log.jsonl $d/config.yaml $OUT/study/$name/
  cp $d/$name.json $d/$name.safetensors $d/summary.json $OUT/study/$name/ 2>/dev/null || true
done
[ -d runs/bundled ] && cp -r runs/bundled/* $OUT/bundled/ 2>/dev/null || true
python3 -m vqseg_core.cli.study status $SPEC --out $STUDY | tail -1 | tee -a $OUT/gpu.txt
