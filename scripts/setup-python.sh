#!/usr/bin/env bash
# Installs the tool that builds Python reward programs into WebAssembly
# components: a pinned componentize-py in a virtual environment at
# .venv-componentize (ignored by git). `derl reward build reward.py` finds it
# there. Safe to run again: it returns at once when the pinned version is
# already installed. Needs Python 3.10+ with the venv module, and PyPI.
#
# Environment:
#   PYTHON  the interpreter that creates the venv (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly version="0.25.1"
readonly venv=".venv-componentize"
readonly tool="$venv/bin/componentize-py"
python="${PYTHON:-python3}"

installed_version() {
    [ -x "$venv/bin/python" ] || return 1
    "$venv/bin/python" -c \
        'import importlib.metadata as m; print(m.version("componentize-py"))' \
        2>/dev/null
}

if [ "$(installed_version || true)" = "$version" ] && [ -x "$tool" ]; then
    echo "componentize-py $version is installed in $venv"
    exit 0
fi

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "error: $python is missing or older than Python 3.10; set PYTHON to a newer interpreter" >&2
    exit 1
fi

if [ ! -x "$venv/bin/python" ]; then
    echo "== creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi

echo "== installing componentize-py $version into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check \
    "componentize-py==$version"

"$tool" --version
