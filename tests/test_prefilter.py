"""The filters that skip files before libcst never hide a finding: on vs off give the same result."""

import importlib.util
from pathlib import Path

import pytest

from catalogue import cases
from eqx_rewrite.engine import Settings, analyse

SETTINGS = Settings(unsafe_fixes=True)


def real_files() -> list[Path]:
    found = []
    for package in ("equinox", "optax"):
        found += sorted(Path(importlib.util.find_spec(package).origin).parent.rglob("*.py"))
    return found


@pytest.mark.parametrize("case", cases(), ids=lambda c: c.id)
def test_filters_keep_every_catalogue_finding(case):
    source = case.path.read_text()
    filtered = analyse(source, SETTINGS, fix=True)
    unfiltered = analyse(source, SETTINGS, fix=True, use_filters=False)
    assert filtered.found == unfiltered.found and filtered.diagnostics == unfiltered.diagnostics
    assert filtered.fixed_source == unfiltered.fixed_source


def test_filters_keep_every_finding_in_real_code():
    # Real code has few findings; the catalogue's cases are mixed into it so the filters face
    # every shape inside files full of other JAX code.
    catalogue = [c.path.read_text() for c in cases()]
    for n, path in enumerate(real_files()[::8]):
        source = path.read_text(encoding="utf-8") + "\n\n" + catalogue[n % len(catalogue)]
        try:
            compile(source, str(path), "exec")
        except SyntaxError:
            continue  # `from __future__` placement and the like
        assert analyse(source, Settings()).diagnostics == analyse(source, Settings(), use_filters=False).diagnostics, path


@pytest.mark.parametrize(
    "source",
    [
        # keyword arguments to scan
        "import jax\n\ndef run(x, xs):\n    def f(c, w):\n        return x * w, None\n\n"
        "    return jax.lax.scan(f, init=x, xs=xs)\n",
        # keys assigned after the function that uses them, as module-level code may do
        "import equinox as eqx\nimport jax.random as jr\nimport jax.numpy as jnp\n\n"
        "def run(x):\n    models = [eqx.nn.Linear(2, 2, key=k) for k in keys]\n"
        "    return jnp.stack([m(x) for m in models])\n\nkeys = jr.split(jr.PRNGKey(0), 3)\n",
    ],
)
def test_filters_keep_findings_in_unusual_spellings(source):
    assert analyse(source, Settings()).diagnostics == analyse(source, Settings(), use_filters=False).diagnostics


def test_files_no_rule_can_fire_in_are_not_parsed():
    # Not even for syntax: that is the job of a linter that looks at every file.
    assert analyse("def broken(:\n", Settings()).diagnostics == []
    assert analyse("import jax\ndef broken(:\n", Settings()).diagnostics == []


PEP_695 = """import equinox as eqx
import jax.random as jr

type Pair[T] = tuple[T, T]


class A[T]:
    item: T


def surgery():
    mlp = eqx.nn.MLP(3, 2, 8, 2, key=jr.PRNGKey(0))
    object.__setattr__(mlp, "layers", ())
    return mlp
"""


@pytest.mark.parametrize("target", ["py310", "py312", "py314"])
def test_syntax_the_running_python_cannot_parse_gets_its_findings(target):
    """`ast` (Python 3.11 here) refuses PEP 695 generics; libcst parses them: every rule runs, and
    the finding is reported, not a syntax error, whatever the target version."""
    found = analyse(PEP_695, Settings(target_version=target)).diagnostics
    assert [d.code for d in found] == ["EQX005"]
    assert [d.code for d in analyse(PEP_695, Settings(), use_filters=False).diagnostics] == ["EQX005"]
