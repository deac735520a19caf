#!/usr/bin/env bash
# Device-machine script (CUDA): train the bundled chest-xray pair with the project's own command,
# plus the smoke config with deterministic algorithms. Run through the session's device tool with
# `.whl` (monai + nibabel wheels) and `data/jsrt256` (JSRT prepared at 256 px) carried.
# Results go to $OUT (weights + logs); see docs/training.md.
set -euo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
# SimpleITK (50 MB) is not carried: the PNG/NIfTI paths used here never call it.
echo "# stub for the device run" > /tmp/site/SimpleITK.py
export PYTHONPATH=$PWD/src:/tmp/site PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee $OUT/gpu.txt
python3 -c "import torch; print('torch', torch.__version__)" | tee -a $OUT/gpu.txt
rm -rf /tmp/runs
T=vqseg_core.cli.train
s0=$(date +%s)
python3 -m $T configs/smoke.yaml --device cuda --deterministic --out /tmp/runs/smoke --set logging.progress=false 2>&1 | tail -3
python3 -m $T configs/smoke.yaml --device cuda --deterministic --out /tmp/runs/smoke2 --set logging.progress=false 2>&1 | tail -1
cmp <(grep '"train"' /tmp/runs/smoke/log.jsonl) <(grep '"train"' /tmp/runs/smoke2/log.jsonl) && echo "smoke on CUDA, deterministic: two runs bit-identical" | tee -a $OUT/gpu.txt
s1=$(date +%s)
for kind in vqunet unet; do
  python3 -m $T configs/chest-xray.yaml --device cuda --out /tmp/runs/chest-xray-$kind \
    --set data.dataset=$PWD/data/jsrt256 --set model.kind=$kind --set name=chest-xray-$kind \
    --set logging.progress=false 2>&1 | tail -2
  cp /tmp/runs/chest-xray-$kind/chest-xray-$kind.{safetensors,json} /tmp/runs/chest-xray-$kind/log.jsonl $OUT/ 2>/dev/null || true
  mv $OUT/log.jsonl $OUT/log-$kind.jsonl
  grep '"val"' $OUT/log-$kind.jsonl | tail -2 | tee -a $OUT/gpu.txt
done
s2=$(date +%s)
echo "smoke x2: $((s1-s0)) s; chest-xray pair: $((s2-s1)) s" | tee -a $OUT/gpu.txt
