#!/usr/bin/env bash
# Creates the Python virtual environment used by benches/grpo_torch.py (the PyTorch side
# of the candle-vs-PyTorch GRPO update benchmark) and installs PyTorch from PyPI into it.
#
# Usage: benches/setup-torch-venv.sh [VENV_DIR]   (default: target/torch-venv)
# The venv lives under target/ so that it is ignored by git and never committed.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
venv="${1:-$root/target/torch-venv}"

if [[ ! -x "$venv/bin/python" ]]; then
    python3 -m venv "$venv"
fi
"$venv/bin/python" -m pip install --quiet --upgrade pip
"$venv/bin/python" -m pip install --quiet torch numpy
"$venv/bin/python" -c 'import torch; print(f"torch {torch.__version__} in '"$venv"'")'
