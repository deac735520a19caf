#!/usr/bin/env bash
# The wheel is self-sufficient, by role (`make check-wheel`, also run by CI after `make test`):
#   1. build the wheel from this checkout;
#   2. install it WITHOUT napari into a fresh venv (no checkout on the path; run from a temp
#      folder) and run vqseg-train/-eval --help and the smoke training by name (packaged config);
#   3. install it WITH the napari extra (+ PyQt6) into another fresh venv: `npe2 list` shows
#      the plugin, `vqseg-demo --sample chest-xray --screenshot` runs under Xvfb;
#   4. print both install sizes (site-packages, MB) for the README.
# Uses the same constraints as setup (CPU torch). Needs python3 -m venv and xvfb-run.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$(pwd)
PYTHON=${PYTHON:-python3}
case "$PYTHON" in */*) PYTHON=$(realpath "$PYTHON") ;; esac  # the script leaves the checkout
CONSTRAINTS=${CONSTRAINTS-constraints.txt}
WORK=$(mktemp -d /tmp/vqseg-wheel.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
pip_c=()
[ -n "$CONSTRAINTS" ] && pip_c=(-c "$ROOT/$CONSTRAINTS")

echo "check-wheel: building the wheel"
"$PYTHON" -m pip wheel -q --no-deps -w "$WORK/dist" . >/dev/null
WHEEL=$(ls "$WORK"/dist/napari_vqseg-*.whl)
listing=$("$PYTHON" -m zipfile -l "$WHEEL")
for f in LICENSE NOTICE; do
    grep -q "licenses/$f" <<<"$listing" || { echo "check-wheel: $f missing from the wheel" >&2; exit 1; }
done

site_mb() { du -sm "$("$1/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" | cut -f1; }

echo "check-wheel: core install (no napari)"
"$PYTHON" -m venv "$WORK/core"
"$WORK/core/bin/python" -m pip install -q "${pip_c[@]}" "$WHEEL"
cd "$WORK"  # no checkout on sys.path from here on
if "$WORK/core/bin/python" -c "import napari" 2>/dev/null; then
    echo "check-wheel: napari was installed without the extra" >&2; exit 1
fi
"$WORK/core/bin/vqseg-train" --help >/dev/null
"$WORK/core/bin/vqseg-eval" --help >/dev/null
OMP_NUM_THREADS=1 "$WORK/core/bin/vqseg-train" smoke --set schedule.steps=4 \
    --set schedule.val_every=4 --set logging.progress=false --out "$WORK/smoke" 2>"$WORK/smoke.log" \
    || { tail -20 "$WORK/smoke.log" >&2; exit 1; }
test -s "$WORK/smoke/log.jsonl"
CORE_MB=$(site_mb "$WORK/core")

echo "check-wheel: plugin install (napari extra + PyQt6)"
"$PYTHON" -m venv "$WORK/gui"
"$WORK/gui/bin/python" -m pip install -q "${pip_c[@]}" "$WHEEL[napari]" PyQt6
plugins=$("$WORK/gui/bin/npe2" list)
grep -q "napari-vqseg" <<<"$plugins" || { echo "check-wheel: npe2 list lacks the plugin" >&2; exit 1; }
OMP_NUM_THREADS=1 xvfb-run -a "$WORK/gui/bin/vqseg-demo" --sample chest-xray \
    --screenshot "$WORK/demo.png" 2>"$WORK/demo.log" || { tail -20 "$WORK/demo.log" >&2; exit 1; }
test -s "$WORK/demo.png" && test -s "$WORK/demo.json"
GUI_MB=$(site_mb "$WORK/gui")

echo "check-wheel: ok; site-packages: core ${CORE_MB} MB, with the napari extra ${GUI_MB} MB ($(date -u +%F), $(uname -m))"
