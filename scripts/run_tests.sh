#!/usr/bin/env bash
# Run the whole pytest suite; GUI tests get a virtual screen from pytest-xvfb.
# pytest's exit code 5 ("no tests collected") is a failure here, not a pass.
set -uo pipefail
cd "$(dirname "$0")/.."
VENV=${VENV:-.venv}
"$VENV/bin/python" -m pytest "$@"
rc=$?
if [ "$rc" -eq 5 ]; then
    echo "run_tests: pytest collected no tests: treating as a failure" >&2
    exit 1
fi
exit "$rc"
