import os
import sys
from pathlib import Path

import pytest

# Tests run JAX on the CPU, on every machine, so results compare across machines.
os.environ.setdefault("JAX_PLATFORMS", "cpu")

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def run_cli(tmp_path, monkeypatch):
    """Run `python -m eqx_rewrite ARGS` in tmp_path; returns the CompletedProcess."""
    import subprocess

    def run(*args, input=None, cwd=None):
        return subprocess.run(
            [sys.executable, "-m", "eqx_rewrite", *map(str, args)],
            capture_output=True,
            text=input is None or isinstance(input, str),
            input=input,
            cwd=cwd or tmp_path,
            timeout=600,  # a guard against hangs, not a timing test: CI machines are shared
        )

    return run
