#!/usr/bin/env bash
# Device-machine script (CUDA): benchmark B4's arms (time to held-out lung Dice 0.96 on JSRT at
# 128 px) on one GPU, each arm in its own process, seeds 1-3; steps to the target are what a
# CPU run cannot afford to explore. Carry `.whl` (the monai wheel) and `data/jsrt128`.
#   ARMS   arm names or NAME@OVERRIDE,... (benchmarks/b4_train.py; default: its five arms)
set -uo pipefail
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade --target /tmp/site .whl/*.whl
echo "# stub for the device run" > /tmp/site/SimpleITK.py  # the PNG paths never call it
export PYTHONPATH=$PWD:$PWD/src:/tmp/site PYTHONUNBUFFERED=1 B4_DEVICE=cuda OMP_NUM_THREADS=2
nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader | tee $OUT/gpu.txt
pids=()
for arm in ${ARMS:-fast_unet fast_vqunet monai unet vqunet}; do
  name=${arm%%@*}
  python3 -m benchmarks.b4_train --seeds 1,2,3 $arm > $OUT/b4-$name.json 2> /tmp/b4-$name.err &
  pids+=($!)
done
for p in "${pids[@]}"; do wait $p; done
tail -n 5 /tmp/b4-*.err > $OUT/errors.txt; cat $OUT/errors.txt
