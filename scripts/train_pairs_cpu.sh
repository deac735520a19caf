#!/usr/bin/env bash
# Train the CPU-sized bundled pairs (ct-organs, brain-mri) with the project's own command.
# Needs `make data`. Resumable: run it again after an interruption.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
for pair in ${PAIRS:-ct-organs brain-mri}; do
  for kind in vqunet unet; do
    out=runs/$pair-$kind
    [ -f "$out/$pair-$kind.json" ] && continue
    "$VENV/bin/vqseg-train" "configs/$pair.yaml" --set model.kind=$kind --set name=$pair-$kind \
      --set logging.progress=false --out "$out" --resume
  done
done
