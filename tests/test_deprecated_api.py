"""EQX101/EQX102 beyond the catalogue: names imported from jax, and spellings that look alike."""

from eqx_rewrite.engine import Settings, analyse


def codes_and_safeties(source: str) -> list[tuple[str, str | None]]:
    return [(d.code, d.fix_safety) for d in analyse(source, Settings()).diagnostics]


def test_a_removed_name_imported_from_jax_is_reported_without_a_fix():
    source = "from jax import jit, tree_map as tm\n\n\ndef f(x):\n    return tm(abs, x)\n"
    assert codes_and_safeties(source) == [("EQX101", None)]


def test_the_same_names_elsewhere_are_not_jax_s():
    source = (
        "import jax\nfrom mylib import tree_map\nimport mylib.jax as jx\n\n\n"
        "def f(x):\n    return tree_map(abs, x), jx.tree_map(abs, x), jax.tree_util.tree_leaves(x)\n"
    )
    assert codes_and_safeties(source) == []


def test_static_field_referenced_without_a_call_is_reported_without_a_fix():
    source = "import equinox as eqx\n\nmake_static = eqx.static_field\n"
    assert codes_and_safeties(source) == [("EQX102", None)]


def test_nothing_is_reported_for_a_target_version_without_the_replacements():
    source = "import jax\nimport equinox as eqx\n\nf = jax.tree_map\ng = eqx.static_field()\n"
    old = Settings(rule_options={"EQX101": {"target-jax": "0.4.23"}, "EQX102": {"target-equinox": "0.10.11"}})
    assert codes_and_safeties(source) == [("EQX101", "safe"), ("EQX102", "safe")]
    assert [d.code for d in analyse(source, old).diagnostics] == []


def test_a_target_version_is_validated(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[tool.eqx-rewrite.EQX101]\ntarget-jax = "latest"\n')
    (tmp_path / "m.py").write_text("import jax\n")
    r = run_cli("m.py")
    assert r.returncode == 2 and "target-jax" in r.stderr
