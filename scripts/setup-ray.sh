#!/usr/bin/env bash
# Installs Ray (the dashboard and its Jobs API: the `default` extra) for the
# Ray executor's tests in a virtual environment at .venv-ray (ignored by
# git). The tests find `ray` there, or on PATH, or through DERL_RAY. Safe to
# run again: it returns at once when the pinned version is installed. Needs
# Python 3.10+ with the venv module, and PyPI.
#
# Environment:
#   PYTHON  the interpreter that creates the venv (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly version="2.60.0"
readonly venv=".venv-ray"
python="${PYTHON:-python3}"

installed_version() {
    [ -x "$venv/bin/python" ] || return 1
    "$venv/bin/python" -c 'import importlib.metadata as m; print(m.version("ray"))' 2>/dev/null
}

if [ "$(installed_version || true)" = "$version" ] && [ -x "$venv/bin/ray" ]; then
    echo "ray $version is installed in $venv"
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
echo "== installing ray[default] $version into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "ray[default]==$version"
echo "ray $("$venv/bin/python" -c 'import ray; print(ray.__version__)') is installed in $venv"
