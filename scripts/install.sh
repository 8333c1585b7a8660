#!/usr/bin/env bash
# Install ragkb into ./.venv (idempotent). Usage: bash scripts/install.sh [extra ...]
#   extras: test, bench. RAGKB_TORCH=cuda keeps pip's default (CUDA) torch instead of the CPU build.
set -euo pipefail
cd "$(dirname "$0")/.."
PYTHON=${PYTHON:-python3}
extras=$(IFS=,; echo "$*")

if [ ! -x .venv/bin/python ]; then
    "$PYTHON" -m venv .venv
fi
# shellcheck disable=SC1091
. .venv/bin/activate
python -m pip install --quiet --upgrade pip >&2

# sentence-transformers needs torch; a plain `pip install torch` pulls a multi-GB CUDA build.
# Install the CPU build first unless torch is already there or the user wants CUDA.
if ! python -c "import torch" 2>/dev/null; then
    if [ "${RAGKB_TORCH:-cpu}" = "cpu" ]; then
        echo "installing CPU-only torch..." >&2
        # A CPU wheel already on this machine (pip's find-links) first, else PyTorch's CPU index.
        wheels=$(mktemp -d)
        if pip download --quiet --no-index --no-deps "torch==2.13.0" -d "$wheels" >&2 2>/dev/null; then
            pip install --quiet "$wheels"/torch-*.whl >&2
        else
            pip install --quiet torch --index-url https://download.pytorch.org/whl/cpu \
                --extra-index-url https://pypi.org/simple >&2
        fi
        rm -rf "$wheels"
    fi
fi

# llama-cpp-python compiles from source the first time (about 10 minutes on 2 cores);
# pip caches the wheel, so later installs take seconds. GPU builds: see the README.
target="."
[ -n "$extras" ] && target=".[$extras]"
echo "installing ragkb${extras:+ with $extras}..." >&2
# compat: the checkout's root goes on sys.path by a .pth line, so `python -m ragkb` run beside
# a folder named ragkb (this clone's default name) still finds the package, not that folder
# (setuptools' import-hook mode loses to it). setuptools calls the mode transitional and warns;
# should a later one drop it, the default mode still installs.
PYTHONWARNINGS=ignore pip install --quiet -e "$target" --config-settings editable_mode=compat >&2 ||
    pip install --quiet -e "$target" >&2
