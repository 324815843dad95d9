"""Notebooks: code cells analysed as one module, magics kept, positions per cell, JSON layout kept."""

import json

import pytest

from eqx_rewrite.engine import Settings
from eqx_rewrite.runner import Job, analyse_text
from pathlib import Path


def notebook(*cells, outputs=True) -> str:
    """Serialised as Jupyter does (indent 1, sorted keys), with outputs and metadata to keep."""
    nb_cells = []
    for n, (kind, source) in enumerate(cells, start=1):
        cell = {"cell_type": kind, "metadata": {"tags": [f"t{n}"]}, "source": source.splitlines(keepends=True)}
        if kind == "code":
            cell["execution_count"] = n
            cell["outputs"] = [{"name": "stdout", "output_type": "stream", "text": [f"out {n}\n"]}] if outputs else []
        nb_cells.append(cell)
    data = {"cells": nb_cells, "metadata": {"kernelspec": {"name": "python3"}}, "nbformat": 4, "nbformat_minor": 5}
    return json.dumps(data, indent=1, sort_keys=True, ensure_ascii=False) + "\n"


IMPORTS = "import equinox as eqx\nimport jax.numpy as jnp\nimport jax.random as jr\nimport optax"
MODEL = '''class Net(eqx.Module):
    blocks: list

    def __init__(self, key):
        self.blocks = [eqx.nn.Linear(4, 4, key=k) for k in jr.split(key, 3)]

    def __call__(self, x):
        for block in self.blocks:
            x = jnp.tanh(block(x))
        return x'''
STEP = '''optim = optax.sgd(0.1)


@eqx.filter_jit
def make_step(model, opt_state, x):
    grads = eqx.filter_grad(lambda m: jnp.sum(m(x) ** 2))(model)
    updates, opt_state = optim.update(grads, opt_state)
    return eqx.apply_updates(model, updates), opt_state'''
LOOP = '''%%time
model = Net(jr.PRNGKey(0))
opt_state = optim.init(eqx.filter(model, eqx.is_array))
!echo training
for _ in range(5):
    model, opt_state = make_step(model, opt_state, jnp.ones(4))
%matplotlib inline
result = model(jnp.ones(4))'''
TRAINING = notebook(("markdown", "# Training\n"), ("code", IMPORTS), ("code", MODEL), ("code", STEP), ("code", LOOP))


def check(text, fix=False, unsafe=False, name="nb.ipynb"):
    return analyse_text(text, Path(name), Job(Settings(unsafe_fixes=unsafe), fix, Path(".")))


def run_cells(text) -> dict:
    """Execute a notebook's code cells, magics left out, as Jupyter would run them in order."""
    namespace: dict = {}
    for cell in json.loads(text)["cells"]:
        if cell["cell_type"] == "code":
            lines = [l for l in "".join(cell["source"]).split("\n") if not l.lstrip().startswith(("%", "!"))]
            exec("\n".join(lines), namespace)
    return namespace


def test_findings_are_placed_in_their_cells():
    result = check(TRAINING)
    places = [(d.code, d.cell, d.location.row) for d in result.diagnostics]
    assert places == [("EQX001", 3, 5), ("EQX002", 5, 6)]


def test_fix_rewrites_cells_keeps_magics_outputs_and_behaviour():
    import numpy as np

    result = check(TRAINING, fix=True, unsafe=True)
    assert result.error is None and result.diagnostics == []
    before, after = json.loads(TRAINING), json.loads(result.fixed_source)
    for old, new in zip(before["cells"], after["cells"]):
        assert {k: v for k, v in old.items() if k != "source"} == {k: v for k, v in new.items() if k != "source"}
    assert before["metadata"] == after["metadata"]
    changed = [n for n, (o, c) in enumerate(zip(before["cells"], after["cells"]), 1) if o["source"] != c["source"]]
    assert changed == [2, 3, 4, 5]  # cell 2 gains `import jax`, next to the other imports
    loop = "".join(after["cells"][4]["source"])
    assert loop.startswith("%%time\n") and "!echo training\n" in loop and "%matplotlib inline\n" in loop
    np.testing.assert_allclose(run_cells(TRAINING)["result"], run_cells(result.fixed_source)["result"], rtol=1e-6)
    again = check(result.fixed_source, fix=True, unsafe=True)
    assert again.fixed_source == result.fixed_source


def test_nothing_to_fix_is_byte_identical(tmp_path, run_cli):
    clean = notebook(("code", IMPORTS), ("code", "x = jnp.ones(3)\n%timeit x + 1"))
    path = tmp_path / "clean.ipynb"
    path.write_text(clean)
    assert run_cli("--fix", "clean.ipynb").returncode == 0
    assert path.read_text() == clean


def test_non_python_cell_magics_are_not_analysed():
    bash = notebook(("code", IMPORTS), ("code", "%%bash\nfor i in 1 2; do echo $i; done"), ("code", MODEL))
    result = check(bash)
    assert [d.cell for d in result.diagnostics] == [3]
    assert result.error is None


@pytest.mark.parametrize(
    "text, message",
    [
        ("{not json", "invalid notebook JSON at line 1"),
        (json.dumps({"nbformat": 3, "worksheets": []}), "not an nbformat 4 notebook"),
    ],
)
def test_malformed_notebook_is_an_error_and_others_go_on(tmp_path, run_cli, text, message):
    (tmp_path / "bad.ipynb").write_text(text)
    (tmp_path / "good.ipynb").write_text(TRAINING)
    r = run_cli("--output-format", "concise", ".")
    assert r.returncode == 2
    assert f"bad.ipynb:1:1: error: {message}" in r.stderr
    assert "good.ipynb:cell 3:5:9: EQX001" in r.stdout
    assert (tmp_path / "bad.ipynb").read_text() == text


def test_syntax_error_is_placed_in_its_cell(tmp_path, run_cli):
    (tmp_path / "nb.ipynb").write_text(notebook(("code", IMPORTS), ("code", "out = jax.lax.scan(f, x, xs\n")))
    r = run_cli("nb.ipynb")
    assert r.returncode == 2 and r.stderr.startswith("nb.ipynb:cell 2:")


def test_json_sarif_and_diff_carry_the_cell(tmp_path, run_cli):
    (tmp_path / "nb.ipynb").write_text(TRAINING)
    findings = json.loads(run_cli("--output-format", "json", "nb.ipynb").stdout)
    assert [(f["cell"], f["location"]["row"]) for f in findings] == [(3, 5), (5, 6)]
    sarif = json.loads(run_cli("--output-format", "sarif", "nb.ipynb").stdout)
    assert [r["properties"]["cell"] for r in sarif["runs"][0]["results"]] == [3, 5]
    diff = run_cli("--diff", "--unsafe-fixes", "nb.ipynb").stdout
    assert "--- a/nb.ipynb:cell 3\n+++ b/nb.ipynb:cell 3\n" in diff
    assert "--- a/nb.ipynb:cell 5\n" in diff


def test_stdin_notebook(run_cli):
    r = run_cli("--fix", "--stdin-filename", "nb.ipynb", input=TRAINING)
    fixed = json.loads(r.stdout)
    assert "make_step_flat" in "".join(fixed["cells"][4]["source"])


def test_discovered_next_to_python_files(tmp_path, run_cli):
    (tmp_path / "nb.ipynb").write_text(TRAINING)
    (tmp_path / ".ipynb_checkpoints").mkdir()
    (tmp_path / ".ipynb_checkpoints" / "nb-checkpoint.ipynb").write_text(TRAINING)
    findings = json.loads(run_cli("--output-format", "json", ".").stdout)
    assert {f["filename"] for f in findings} == {"nb.ipynb"}


REPR_CELL = "x = jnp.ones(3)\nArray([1., 1., 1.], dtype=float32)\n<function f at 0x7f>"
OLD, NEW = "jax.tree_map(lambda v: v + 1, {'a': 1})", "jax.tree.map(lambda v: v + 1, {'a': 1})"
TREE_MAP = f"import jax\ny = {OLD}"


def test_a_cell_that_does_not_parse_is_an_error_the_others_are_analysed(tmp_path, run_cli):
    text = notebook(("code", IMPORTS), ("code", REPR_CELL), ("code", TREE_MAP))
    path = tmp_path / "nb.ipynb"
    path.write_text(text)
    for _ in range(2):  # the second run reads the cache, and must report the cell again
        r = run_cli("--output-format", "concise", "nb.ipynb")
        assert r.returncode == 2
        assert "nb.ipynb:cell 2:3:1: error:" in r.stderr
        assert "nb.ipynb:cell 3:2:5: EQX101" in r.stdout
    r = run_cli("--fix", "nb.ipynb")
    assert r.returncode == 2
    cells = json.loads(path.read_text())["cells"]
    assert "".join(cells[1]["source"]) == REPR_CELL and "".join(cells[2]["source"]) == f"import jax\ny = {NEW}"


def _layouts():
    data = json.loads(notebook(("code", IMPORTS), ("code", TREE_MAP), ("markdown", "Caf\u00e9 \u2014 done\n")))
    strings = json.loads(json.dumps(data))
    for cell in strings["cells"]:
        cell["source"] = "".join(cell["source"])
    return {
        "compact": (data, lambda d: json.dumps(d, separators=(",", ":"))),
        "crlf": (data, lambda d: json.dumps(d, indent=1, sort_keys=True, ensure_ascii=False).replace("\n", "\r\n") + "\r\n"),
        "string-source": (strings, lambda d: json.dumps(d, indent=1, sort_keys=True, ensure_ascii=False) + "\n"),
        "ascii-escapes": (data, lambda d: json.dumps(d, indent=2)),
    }


@pytest.mark.parametrize("layout", sorted(_layouts()))
def test_fix_writes_every_layout_as_it_was(tmp_path, run_cli, layout):
    data, dump = _layouts()[layout]
    path = tmp_path / "nb.ipynb"
    path.write_bytes(dump(data).encode())
    assert run_cli("--fix", "nb.ipynb").returncode == 0
    fixed = json.loads(path.read_bytes())
    source = fixed["cells"][1]["source"]
    assert ("".join(source) if isinstance(source, list) else source) == f"import jax\ny = {NEW}"
    assert path.read_bytes() == dump(fixed).encode()  # the layout, byte for byte
