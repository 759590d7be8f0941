#!/usr/bin/env bash
# Builds and installs the `derl` Python package (python/) into a virtual
# environment at .venv-derl (ignored by git), with what its tests need
# (pytest, gymnasium, numpy), using the README's one command,
# `pip install ./python` (a release build: about 11 minutes on 2 cores from
# a clean checkout, seconds when nothing changed). The package's pytest suite
# then runs inside `cargo test` (host/tests/python_package.rs), which
# reinstalls it the same way first (cargo's build is a no-op when nothing
# changed), so that it tests the code as it is.
# Needs Python 3.10+ with the venv module, Rust with the wasm32-wasip2 target,
# and PyPI.
#
# Environment:
#   PYTHON  the interpreter that creates the venv (default: python3)
set -euo pipefail
cd "$(dirname "$0")/.."

readonly venv=".venv-derl"
readonly maturin_version="1.16.0"
readonly test_requirements=("maturin==$maturin_version" "pytest==9.2.0" "gymnasium==1.4.0" "numpy==2.4.6")
python="${PYTHON:-python3}"

if ! "$python" -c 'import sys; sys.exit(sys.version_info < (3, 10))' 2>/dev/null; then
    echo "error: $python is missing or older than Python 3.10; set PYTHON to a newer interpreter" >&2
    exit 1
fi
if [ ! -x "$venv/bin/python" ]; then
    echo "== creating $venv with $("$python" --version 2>&1)"
    "$python" -m venv "$venv"
fi
echo "== installing the test requirements into $venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "${test_requirements[@]}"

echo "== pip install ./python (the README's command)"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check ./python
"$venv/bin/python" -c 'import derl; print("derl", derl.__version__, "is installed in '"$venv"'")'
