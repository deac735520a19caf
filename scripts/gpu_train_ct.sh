#!/usr/bin/env bash
# Device-machine script (CUDA): train the bundled ct-organs pair (3D) with the project's own
# command. Carry `.whl` (monai + nibabel wheels) and `data/ct-organs` (`make data`).
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
echo "# stub: SimpleITK is not carried; the NIfTI path never calls it" > /tmp/site/SimpleITK.py
export PYTHONPATH=$PWD/src:/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name --format=csv,noheader | tee $OUT/gpu.txt
rm -rf /tmp/runs
s0=$(date +%s)
for kind in vqunet unet; do
  python3 -m vqseg_core.cli.train configs/ct-organs.yaml --device cuda --out /tmp/runs/ct-organs-$kind \
    --set data.dataset=$PWD/data/ct-organs --set model.kind=$kind --set name=ct-organs-$kind \
    --set schedule.steps=${STEPS:-1000} --set schedule.val_every=500 --set logging.progress=false 2>&1 | tail -1
  cp /tmp/runs/ct-organs-$kind/ct-organs-$kind.{safetensors,json} $OUT/
  cp /tmp/runs/ct-organs-$kind/log.jsonl $OUT/log-ct-$kind.jsonl
  grep '"val"' $OUT/log-ct-$kind.jsonl | tail -1 | tee -a $OUT/gpu.txt
  echo "$kind done after $(( $(date +%s) - s0 )) s" | tee -a $OUT/gpu.txt
done
