#!/usr/bin/env bash
# Set up vivify in a virtual environment (default: .venv) on a fresh machine with Python 3.10-3.12.
#   bash scripts/install.sh [EXTRAS]      e.g. bash scripts/install.sh dev
# Offline after this step: the face models ship inside the MediaPipe wheel.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
venv="${VIVIFY_VENV:-.venv}"
python="${PYTHON:-python3}"

[ -x "$venv/bin/python" ] || "$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip install --quiet --disable-pip-version-check)

# torch first, pinned to a release known to work, so that the project's "torch>=2.2" is already
# satisfied and pip does not go looking for the newest (and largest) build.
"$venv/bin/python" -c "import torch" 2>/dev/null || "${pip[@]}" "torch==2.13.0"
# MediaPipe without its declared dependencies: they would pull the GUI OpenCV build (libGL) and
# jax. pyproject.toml lists what it really needs at run time.
"$venv/bin/python" -c "import mediapipe" 2>/dev/null || "${pip[@]}" --no-deps "mediapipe==0.10.14"
if [ -n "$extras" ]; then "${pip[@]}" -e ".[$extras]"; else "${pip[@]}" -e .; fi
