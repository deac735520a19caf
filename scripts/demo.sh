#!/usr/bin/env bash
# `make demo`: the main job on the bundled data and models. Opens napari with the bundled
# chest X-ray sample (Shenzhen radiograph + lung mask), the bundled chest-xray model set (UNet,
# VQ-UNet) and the Robustness Explorer running at 20 % Gaussian noise.
# MODELS=unet,vqunet,runs/x/x.json compares the set's models with your own vqseg-train exports
# (2-6 models, one panel each).
# With a display: the interactive window. Without one (a server, CI): under Xvfb, it saves a
# screenshot and a JSON summary of the result and says where they went.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
ARGS=(--sample "${SAMPLE:-chest-xray}" --noise "${NOISE:-gaussian}" --level "${LEVEL:-20}")
if [ -n "${MODELS:-}" ]; then
    ARGS+=(--models "$MODELS")
fi
if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${HEADLESS:-}" ]; then
    exec "$VENV/bin/vqseg-demo" "${ARGS[@]}"
fi
out=${SCREENSHOT:-out/demo.png}
mkdir -p "$(dirname "$out")"
echo "demo: no display: running headless under Xvfb"
xvfb-run -a -s "-screen 0 1600x1000x24" "$VENV/bin/vqseg-demo" "${ARGS[@]}" --screenshot "$out"
echo "demo: screenshot in $out, summary (layers, Dice/HD95 of every model, device) in ${out%.*}.json"
