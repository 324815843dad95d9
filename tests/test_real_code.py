"""Every rule over real JAX code (the installed equinox and optax): no internal error, and every fix
it makes parses and is idempotent. Library code like this is almost entirely quiet."""

import importlib.util
from pathlib import Path

import pytest

from eqx_rewrite.engine import Settings, analyse, parse

SETTINGS = Settings(unsafe_fixes=True)
CHUNKS = 4


def package_files(name: str) -> list[Path]:
    spec = importlib.util.find_spec(name)
    return sorted(Path(spec.origin).parent.rglob("*.py"))


FILES = package_files("equinox") + package_files("optax")


@pytest.mark.parametrize("chunk", range(CHUNKS))
def test_rules_run_cleanly_over_real_code(chunk):
    files = FILES[chunk::CHUNKS]
    findings = 0
    for path in files:
        source = path.read_text(encoding="utf-8")
        result = analyse(source, SETTINGS, fix=True)
        findings += len(result.found if result.found is not None else result.diagnostics)
        if result.fixed_source != source:
            parse(result.fixed_source)
            again = analyse(result.fixed_source, SETTINGS, fix=True)
            assert again.fixed_source == result.fixed_source, f"not idempotent: {path}"
    # Their tests do reuse a key here and there, and create a jit in a loop: real, and rare.
    assert findings <= len(files) // 10, f"{findings} findings in {len(files)} library files"
