#!/usr/bin/env bash
# `make demo`: the main job on the bundled data and models.
# Until the napari plugin and bundled model pairs land (issues 4 and 6), this runs the best
# end-to-end command that exists: build UNet and VQ-UNet, run both, show the model contract,
# codebook usage and CPU speed.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
echo "demo: the napari Robustness Explorer is not in this version yet; running the model summary."
"$VENV/bin/python" -m vqseg_core.models "$@"
