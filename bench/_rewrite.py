"""Shared by the benchmarks: rewrite a source with one rule, and load a source as a module."""

from __future__ import annotations

import importlib.util
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from eqx_rewrite.engine import Settings, analyse  # noqa: E402
from eqx_rewrite.rule import RuleSelection  # noqa: E402


def rewrite(source: str, code: str) -> str:
    settings = Settings(selection=RuleSelection((code,)), unsafe_fixes=True)
    fixed = analyse(source, settings, fix=True).fixed_source
    if fixed == source:
        raise SystemExit(f"eqx-rewrite did not apply {code} to the benchmark source")
    return fixed


def load(source: str, name: str):
    path = Path(tempfile.mkdtemp()) / f"{name}.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
