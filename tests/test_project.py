"""What one file cannot know alone: a step function jit-compiled in another file of the run (EQX002)."""

import json
import textwrap
from pathlib import Path

import pytest

from eqx_rewrite.engine import Settings, analyse
from eqx_rewrite.project import imports_jitted, jitted_functions, key_ignoring_classes

STEPS = textwrap.dedent(
    """\
    import equinox as eqx
    import jax


    @eqx.filter_jit
    def make_step(model, opt_state, x):
        return model, opt_state


    def plain_step(model, opt_state, x):
        return model, opt_state


    update = jax.jit(plain_step)
    """
)


def loop(import_line: str, call: str) -> str:
    return textwrap.dedent(
        f"""\
        import jax.numpy as jnp
        {import_line}


        def train(model, opt_state, data):
            for x in data:
                model, opt_state = {call}(model, opt_state, x)
            return model
        """
    )


@pytest.mark.parametrize(
    "files, import_line, call, qualified",
    [
        ({"steps.py": STEPS}, "from steps import make_step", "make_step", "steps.make_step"),
        ({"steps.py": STEPS}, "from steps import update as step", "step", "steps.update"),
        ({"steps.py": STEPS}, "import steps", "steps.make_step", "steps.make_step"),
        ({"pkg/__init__.py": "", "pkg/steps.py": STEPS}, "from .steps import make_step", "make_step", "steps.make_step"),
        ({"pkg/__init__.py": "", "pkg/steps.py": STEPS}, "from . import steps", "steps.make_step", "steps.make_step"),
    ],
)
def test_a_step_jitted_in_another_file_is_reported_without_a_fix(tmp_path, run_cli, files, import_line, call, qualified):
    folder = tmp_path / ("pkg" if any(f.startswith("pkg/") for f in files) else "")
    for name, text in files.items():
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text(text)
    (folder / "train.py").write_text(loop(import_line, call))
    r = run_cli("--check", "--output-format", "json", ".")
    (finding,) = json.loads(r.stdout)
    assert finding["code"] == "EQX002" and Path(finding["filename"]).name == "train.py"
    assert finding["message"].endswith(f"no fix: the step is compiled in another module (`{qualified}`)")
    assert finding["fix"] is None
    before = (folder / "train.py").read_text()
    assert run_cli("--fix", "--unsafe-fixes", ".").returncode == 1
    assert (folder / "train.py").read_text() == before


def test_an_imported_step_that_is_not_jitted_stays_quiet(tmp_path, run_cli):
    (tmp_path / "steps.py").write_text(STEPS)
    (tmp_path / "train.py").write_text(loop("from steps import plain_step", "plain_step"))
    assert run_cli("--check", ".").returncode == 0


def test_the_loop_file_alone_outside_a_project_cannot_know_and_stays_quiet(tmp_path, run_cli):
    (tmp_path / "steps.py").write_text(STEPS)
    (tmp_path / "train.py").write_text(loop("from steps import make_step", "make_step"))
    assert run_cli("--check", "train.py").returncode == 0


def test_in_a_project_a_file_named_alone_knows_the_rest_of_it(tmp_path, run_cli):
    """pre-commit names only the staged files: the findings must be those of the whole project."""
    (tmp_path / "pyproject.toml").write_text("[tool.eqx-rewrite]\n")
    (tmp_path / "steps.py").write_text(STEPS)
    (tmp_path / "train.py").write_text(loop("from steps import make_step", "make_step"))
    alone = json.loads(run_cli("--check", "--output-format", "json", "train.py").stdout)
    together = json.loads(run_cli("--check", "--output-format", "json", ".").stdout)
    assert [f["message"] for f in alone] == [f["message"] for f in together] and len(alone) == 1


def test_a_package_reexport_of_a_jitted_step_is_indexed():
    files = [(Path("pkg/steps.py"), STEPS), (Path("pkg/__init__.py"), "from .steps import (\n    make_step as step,\n    plain_step,\n)\n")]
    assert ("pkg", "step") in jitted_functions(files)
    assert ("pkg", "plain_step") not in jitted_functions(files)


def test_jitted_functions_are_indexed_by_module_and_name():
    files = [(Path("a/steps.py"), STEPS), (Path("pkg/__init__.py"), "import jax\n\nf = jax.jit(g)\n")]
    assert jitted_functions(files) == {("steps", "make_step"), ("steps", "update"), ("pkg", "f")}
    indented = "class A:\n    @jax.jit\n    def m(self):\n        pass\n"
    assert jitted_functions([(Path("m.py"), indented)]) == frozenset()


@pytest.mark.parametrize(
    "source, imports",
    [
        ("from steps import make_step\n", True),
        ("from .steps import (\n    other,\n    make_step as s,\n)\n", True),
        ("from pkg import steps\n\nsteps.make_step(m)\n", True),
        ("import pkg.steps as s\n\ns.make_step(m)\n", True),
        ("from pkg import steps\n\nsteps.other(m)\n", False),
        ("from steps import other\n", False),
        ("from elsewhere import make_step\n", False),
    ],
)
def test_imports_of_jitted_functions_are_seen_in_the_text(source, imports):
    assert imports_jitted(source, frozenset({("steps", "make_step")})) is imports


def test_filters_keep_the_cross_module_finding():
    settings = Settings(project_jitted=frozenset({("steps", "make_step")}))
    for source in (loop("from steps import make_step", "make_step"), loop("import steps", "steps.make_step")):
        filtered = analyse(source, settings).diagnostics
        assert filtered and filtered == analyse(source, settings, use_filters=False).diagnostics


STAR_SCRIPT = textwrap.dedent(
    """\
    from common import *


    def main(model, opt_state, data):
        @eqx.filter_jit
        def make_step(model, opt_state, x):
            return model, opt_state

        for x in data:
            model, opt_state = make_step(model, opt_state, x)
        return model
    """
)


def test_names_a_star_import_brings_from_another_file_of_the_run_resolve(tmp_path, run_cli):
    """Scripts share their imports through `from common import *`: `eqx` there is equinox when the
    run's common.py imports it so, and unknown otherwise (a near miss stays quiet)."""
    (tmp_path / "pyproject.toml").write_text("[tool.eqx-rewrite]\n")
    (tmp_path / "train.py").write_text(STAR_SCRIPT)
    (tmp_path / "common.py").write_text("import os\n")
    quiet = run_cli("--select", "EQX002", "--no-cache", "train.py")
    assert quiet.returncode == 0, quiet.stdout + quiet.stderr
    (tmp_path / "common.py").write_text("import jax\nimport equinox as eqx\n")
    found = run_cli("--select", "EQX002", "--no-cache", "--output-format", "json", "train.py")
    assert [(f["code"], f["location"]["row"]) for f in json.loads(found.stdout)] == [("EQX002", 10)]


LAYERS = textwrap.dedent(
    """\
    import equinox as eqx


    class Attention(eqx.Module):
        def __call__(self, x, key,
                     mask=None):
            return x  # never reads its key


    class Noisy(eqx.Module):
        def __call__(self, x, *, key):
            return x + jax.random.normal(key, x.shape)


    class Forwards(eqx.Module):
        def __call__(self, x, **kwargs):
            return x
    """
)


def test_classes_whose_call_never_reads_its_key_are_indexed():
    assert key_ignoring_classes([LAYERS]) == {"Attention"}


@pytest.mark.parametrize("layer, reported", [("Attention", False), ("Noisy", True), ("Forwards", True)])
def test_a_key_handed_twice_to_a_layer_of_another_file_that_ignores_it_is_no_reuse(tmp_path, run_cli, layer, reported):
    (tmp_path / "pyproject.toml").write_text("[tool.eqx-rewrite]\n")
    (tmp_path / "layers.py").write_text(LAYERS)
    (tmp_path / "test_layers.py").write_text(
        f"import jax\nfrom layers import {layer}\n\n\ndef test(x, key):\n    layer = {layer}()\n    return layer(x, key=key), layer(x, key=key)\n"
    )
    result = run_cli("--select", "EQX007", "--no-cache", "--output-format", "json", "test_layers.py")
    assert [f["location"]["row"] for f in json.loads(result.stdout)] == ([7] if reported else [])
