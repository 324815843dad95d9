"""EQX001 beyond the golden text: stacked weights equal the old ones bit for bit, old checkpoints
convert, Module bases are found across files, and the threshold option."""

import json
import textwrap

import pytest

from catalogue import assert_same, cases, load
from eqx_rewrite.engine import Settings, analyse, parse
from eqx_rewrite.rule import RuleSelection

RULES = next(c.path.parent for c in cases() if c.path.parent.name == "EQX001")
CONVERTIBLE = [c for c in cases() if c.path.parent.name == "EQX001" and c.expected_path.exists()]


def converter(module):
    (name,) = [n for n in dir(module) if n.startswith("convert_") and n.endswith("_checkpoint")]
    return getattr(module, name)


@pytest.mark.parametrize("case", CONVERTIBLE, ids=lambda c: c.id)
def test_stacked_weights_equal_the_original_weights_bit_for_bit(case, tmp_path):
    import equinox as eqx
    import jax
    import numpy as np

    before = load(case.path)
    after = load(case.path, case.expected_path.read_text(), tmp_path)
    eqx.tree_serialise_leaves(tmp_path / "old.eqx", before.model())
    converted = converter(after)(tmp_path / "old.eqx", after.model())
    fresh = after.model()
    for a, b in zip(jax.tree_util.tree_leaves(converted), jax.tree_util.tree_leaves(fresh)):
        if hasattr(a, "shape"):
            np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("case", CONVERTIBLE, ids=lambda c: c.id)
def test_old_checkpoint_converts_and_gives_the_same_outputs(case, tmp_path):
    import equinox as eqx
    import jax

    before = load(case.path)
    after = load(case.path, case.expected_path.read_text(), tmp_path)
    # A trained model differs from a fresh one: perturb it, so loading must really happen.
    trained = jax.tree_util.tree_map(lambda a: a * 1.5 + 0.01 if eqx.is_inexact_array(a) else a, before.model())
    eqx.tree_serialise_leaves(tmp_path / "old.eqx", trained)
    loaded = converter(after)(tmp_path / "old.eqx", after.model())
    x = before.example()
    kwargs = {"key": jax.random.PRNGKey(5)} if "key=" in case.path.read_text().split("def model")[0].split("__call__")[-1] else {}
    assert_same(trained(x, **kwargs), loaded(x, **kwargs))


BASE = """import equinox as eqx


class Base(eqx.Module):
    pass
"""

MODEL = """import jax.random as jr
import equinox as eqx

from .base import Base


class Net(Base):
    layers: list

    def __init__(self, key):
        self.layers = [eqx.nn.Linear(2, 2, key=k) for k in jr.split(key, 3)]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x
"""


def test_module_base_defined_in_another_file(tmp_path, run_cli):
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "base.py").write_text(BASE)
    (tmp_path / "pkg" / "model.py").write_text(MODEL)
    together = json.loads(run_cli("--output-format", "json", "pkg").stdout)
    assert [d["code"] for d in together] == ["EQX001"]
    alone = json.loads(run_cli("--output-format", "json", "pkg/model.py").stdout)
    assert alone == [], "without base.py in the run, Base is not known to be a Module"


def test_min_layers_option(tmp_path, run_cli):
    (tmp_path / "m.py").write_text(MODEL.replace("from .base import Base", BASE.split("\n", 2)[2]))
    assert len(json.loads(run_cli("--output-format", "json", "m.py").stdout)) == 1
    (tmp_path / "pyproject.toml").write_text("[tool.eqx-rewrite.EQX001]\nmin-layers = 4\n")
    assert json.loads(run_cli("--output-format", "json", "m.py").stdout) == []
    (tmp_path / "pyproject.toml").write_text("[tool.eqx-rewrite.EQX001]\nmin-layers = 1\n")
    r = run_cli("m.py")
    assert r.returncode == 2 and "`EQX001.min-layers` = 1 is out of range" in r.stderr


def test_written_out_fields_need_three_by_default():
    two = """import equinox as eqx
import jax.random as jr


class Pair(eqx.Module):
    l1: eqx.nn.Linear
    l2: eqx.nn.Linear

    def __init__(self, key):
        k1, k2 = jr.split(key)
        self.l1 = eqx.nn.Linear(4, 4, key=k1)
        self.l2 = eqx.nn.Linear(4, 4, key=k2)

    def __call__(self, x):
        x = self.l1(x)
        x = self.l2(x)
        return x
"""
    assert analyse(two, Settings()).diagnostics == []
    assert [d.code for d in analyse(two, Settings(rule_options={"EQX001": {"min-layers": 2}})).diagnostics] == ["EQX001"]


def _case(name):
    return (CONVERTIBLE[0].path.parent / name).read_text()


def test_comment_left_of_the_loop_body_moves_with_it():
    # Found by tests/test_fuzz.py: the body was re-indented by its least-indented line.
    source = _case("list_comprehension_residual.py").replace("            # pre-norm", "# pre-norm")
    fixed = analyse(source, Settings(unsafe_fixes=True), fix=True).fixed_source
    parse(fixed)
    assert "            # pre-norm residual step\n            x = x + jax.nn.gelu" in fixed


def test_written_out_field_assigned_twice_does_not_crash():
    source = _case("named_fields_nested_calls.py").replace(
        "        self.l1 = eqx.nn.Linear(4, 4, key=k1)\n", "        self.l1 = eqx.nn.Linear(4, 4, key=k1)\n" * 2
    )
    # EQX001 alone: the duplicated `key=k1` is a reused key, which EQX007 rightly splits.
    assert analyse(source, Settings(RuleSelection(("EQX001",)), unsafe_fixes=True), fix=True).fixed_source == source


def test_written_out_field_built_but_not_applied_blocks_the_fix():
    source = _case("named_fields_nested_keys.py").replace("        h = h + self.block3(h)\n", "")
    (finding,) = analyse(source, Settings()).diagnostics
    assert finding.fix_safety is None and "`self.block3` is built but not applied" in finding.message


@pytest.mark.parametrize(
    "rebinding",
    ["    if jnp.ndim(x) > 1:\n        keys = [None] * len(self.layers)\n", "    keys += keys\n", "    for keys in [keys]:\n        pass\n"],
    ids=["in a branch", "augmented", "as a loop target"],
)
def test_keys_rebound_otherwise_than_by_an_assignment_before_the_loop_are_not_provably_split(rebinding):
    # The last plain assignment (`keys = jr.split(...)`) is not what the loop reads when anything else
    # may rebind the name in between: zipped per-layer values, no fix.
    source = (RULES / "keys_rebound_before_loop.py").read_text()
    anchor = "        for layer, key in zip(self.layers, keys):\n"
    patched = source.replace(anchor, textwrap.indent(rebinding, "    ") + anchor)
    assert patched != source
    (finding,) = analyse(patched, Settings(unsafe_fixes=True)).diagnostics
    assert finding.code == "EQX001" and finding.fix_safety is None
