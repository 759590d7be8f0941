"""Shared fixtures: componentize-py from the project's venv (scripts/setup-python.sh)
and a per-session cache directory, so that Python rewards build once per run."""

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
COMPONENTIZE_PY = ROOT / ".venv-componentize" / "bin" / "componentize-py"


@pytest.fixture(scope="session")
def componentize_py():
    tool = os.environ.get("DERL_COMPONENTIZE_PY") or (str(COMPONENTIZE_PY) if COMPONENTIZE_PY.is_file() else None)
    if tool is None:
        if os.environ.get("CI") == "true":
            pytest.fail("componentize-py is missing: run bash scripts/setup-python.sh")
        pytest.skip("componentize-py is not installed (bash scripts/setup-python.sh)")
    return tool


@pytest.fixture(scope="session")
def cache_dir(tmp_path_factory):
    return tmp_path_factory.mktemp("derl-cache")


@pytest.fixture(scope="session")
def repo_root():
    return ROOT
