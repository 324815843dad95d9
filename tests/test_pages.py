"""Documentation pages: Python code blocks of .md and .rst analysed per section as one module,
positions in the page's terms, fixes written into the changed blocks only."""

import json
from pathlib import Path

import pytest

from eqx_rewrite import pages
from eqx_rewrite.engine import Settings
from eqx_rewrite.runner import Job, analyse_text

OLD, NEW = 'jax.tree_map(lambda v: v + 1, {"a": 1})', 'jax.tree.map(lambda v: v + 1, {"a": 1})'

MARKDOWN = f"""# Title

Text with `jax.tree_map` in it, and a shell block:

```bash
python -c "import jax; jax.tree_map(f, x)"
```

1. A list item:

   ````python title="example.py"
   import jax
   y = {OLD}
   ````

Closing words.
"""

RST = f"""Title
=====

.. note::

   .. code-block:: python
      :linenos:

      import jax

      y = {OLD}

After the note.
"""

# The Tricks page's scan-over-layers example, reduced: the body reads `x`, not its carry `_x`.
TRICKS = """## Improve compilation speed with scan-over-layers

```python
import equinox as eqx
import jax.lax as lax

class TenMLPs(eqx.Module):
    mlps: eqx.nn.MLP

    def __call__(self, x):
        dynamic_mlps, static_mlps = eqx.partition(self.mlps, eqx.is_array)

        def f(_x, _dynamic_mlp):
            mlp = eqx.combine(_dynamic_mlp, static_mlps)
            return mlp(x), None

        out, _ = lax.scan(f, x, dynamic_mlps)
        return out
```
"""


def check(text, name="page.md", fix=False):
    return analyse_text(text, Path(name), Job(Settings(), fix, Path(".")))


def test_markdown_positions_are_the_pages():
    result = check(MARKDOWN)
    assert result.error is None and result.problems == []
    [d] = result.diagnostics
    assert (d.code, d.cell, d.location.row, d.location.col) == ("EQX101", None, 13, 8)
    assert [(e.location.row, e.location.col) for e in d.edits] == [(13, 8)]
    assert result.line(d) == f"   y = {OLD}"


def test_markdown_fix_changes_only_the_block():
    result = check(MARKDOWN, fix=True)
    assert result.fixed_source == MARKDOWN.replace(f"   y = {OLD}", f"   y = {NEW}")


def test_rst_fix_in_an_indented_directive_keeps_the_rest(tmp_path, run_cli):
    path = tmp_path / "page.rst"
    path.write_bytes(RST.encode())
    r = run_cli("--output-format", "concise", "page.rst")
    assert "page.rst:11:11: EQX101" in r.stdout
    assert run_cli("--fix", "page.rst").returncode == 0
    assert path.read_bytes() == RST.replace(OLD, NEW).encode()


def test_crlf_page_is_written_with_crlf(tmp_path, run_cli):
    path = tmp_path / "page.md"
    path.write_bytes(MARKDOWN.replace("\n", "\r\n").encode())
    assert run_cli("--fix", "page.md").returncode == 0
    assert path.read_bytes() == MARKDOWN.replace(OLD, NEW).replace("\n", "\r\n").encode()


def test_diff_is_a_diff_of_the_page(tmp_path, run_cli):
    (tmp_path / "page.md").write_text(MARKDOWN)
    diff = run_cli("--diff", "page.md").stdout
    assert f"-   y = {OLD}\n+   y = {NEW}\n" in diff and "--- a/page.md\n" in diff


def test_doctest_block_is_reported_not_fixed(tmp_path, run_cli):
    page = f"```pycon\n>>> import jax\n>>> {OLD}\n{{'a': 2}}\n```\n\n```python\nimport jax\nz = {OLD}\n```\n"
    result = check(page)
    doctest, block = result.diagnostics
    assert (doctest.location.row, doctest.location.col, doctest.fix_safety, doctest.edits) == (3, 5, None, ())
    assert (block.location.row, block.fix_safety) == (9, "safe")
    (tmp_path / "page.md").write_text(page)
    r = run_cli("--fix", "page.md")
    assert (tmp_path / "page.md").read_text() == page.replace(f"z = {OLD}", f"z = {NEW}")
    assert r.returncode == 1 and "Fixed 1 finding." in r.stdout


def test_sarif_and_json_positions_are_page_positions(tmp_path, run_cli):
    (tmp_path / "page.rst").write_text(RST)
    [finding] = json.loads(run_cli("--output-format", "json", "page.rst").stdout)
    assert finding["location"] == {"row": 11, "column": 11} and "cell" not in finding
    sarif = json.loads(run_cli("--output-format", "sarif", "page.rst").stdout)
    [result] = sarif["runs"][0]["results"]
    assert result["locations"][0]["physicalLocation"]["region"]["startLine"] == 11
    assert result["fixes"][0]["artifactChanges"][0]["replacements"][0]["deletedRegion"]["startColumn"] == 11


def test_invalid_block_is_a_note_and_the_rest_is_analysed(tmp_path, run_cli):
    page = "```python\nfor x in xs:\n    <do something>\n```\n\n```python\nimport jax\n" + f"y = {OLD}\n```\n"
    (tmp_path / "page.md").write_text(page)
    for _ in range(2):  # the second run reads the cache, and must print the same note
        r = run_cli("--output-format", "concise", "page.md")
        assert r.returncode == 1
        assert "page.md:3:5: note: code block skipped:" in r.stderr
        assert "page.md:8:5: EQX101" in r.stdout


def test_pages_are_discovered_only_when_asked(tmp_path, run_cli):
    (tmp_path / "docs").mkdir()
    (tmp_path / "docs" / "page.md").write_text(MARKDOWN)
    assert run_cli(".").returncode == 0
    assert "docs/page.md:13:8" in run_cli("--doc-blocks", ".").stdout
    (tmp_path / "pyproject.toml").write_text("[tool.eqx-rewrite]\ndoc-blocks = true\n")
    assert "docs/page.md:13:8" in run_cli(".").stdout
    assert run_cli("--no-doc-blocks", ".").returncode == 0


def test_a_page_named_explicitly_is_always_analysed(tmp_path, run_cli):
    (tmp_path / "page.md").write_text(MARKDOWN)
    r = run_cli("--no-doc-blocks", "page.md")
    assert r.returncode == 1 and "page.md:13:8: EQX101" in r.stdout


def test_bad_doc_blocks_value_is_a_config_error(tmp_path, run_cli):
    (tmp_path / "pyproject.toml").write_text('[tool.eqx-rewrite]\ndoc-blocks = "yes"\n')
    r = run_cli(".")
    assert r.returncode == 2 and "`doc-blocks` must be true or false" in r.stderr


def test_fix_is_idempotent(tmp_path, run_cli):
    path = tmp_path / "page.md"
    path.write_text(MARKDOWN + "\n" + RST.split("\n\n", 1)[0])
    run_cli("--fix", "page.md")
    once = path.read_bytes()
    run_cli("--fix", "page.md")
    assert path.read_bytes() == once


def test_the_tricks_pages_scan_carry_bug():
    [d] = check(TRICKS).diagnostics
    assert (d.code, d.location.row, d.location.col) == ("EQX006", 13, 9)


def test_sections_are_separate_examples():
    """An FAQ's answers are separate examples, not one program drawing from `key` twice."""
    answer = "```python\nimport equinox as eqx\nimport jax\nkey = jax.random.PRNGKey(0)\nlinear = eqx.nn.Linear(2, 2, key=key)\n```\n"
    second = "```python\nimport jax\nkey, subkey = jax.random.split(key)\n```\n"
    assert check(f"## One\n\n{answer}\n## Two\n\n{second}").diagnostics == []
    assert [d.code for d in check(f"## One\n\n{answer}\n{second}").diagnostics] == ["EQX007"]


def test_blocks_found():
    rst = ".. testcode::\n\n   print(1)\n\n.. code:: bash\n\n   ls\n\n.. sourcecode:: py\n\n  x = 1\n  y = 2\nz\n"
    page = pages.load(rst, Path("p.rst"))
    assert [(b.code, b.rows, b.offsets) for b in page.blocks] == [("print(1)", [3], [3]), ("x = 1\ny = 2", [11, 12], [2, 2])]
    md = "~~~~ python3\ncode()\n~~~\n~~~~~\nafter\n"
    assert [b.code for b in pages.load(md, Path("p.md")).blocks] == ["code()\n~~~"]


def test_doctest_code_is_its_prompted_lines():
    page = "```pycon\n>>> def f(x):\n...     return x\n>>> f(1)\n1\n...\n>>> f(2)\n```\n"
    [block] = pages.load(page, Path("p.md")).blocks
    assert block.doctest and block.code == "def f(x):\n    return x\nf(1)\nf(2)"
    assert (block.rows, block.offsets) == ([2, 3, 4, 7], [4, 4, 4, 4])


def test_unclosed_fence_at_the_end_of_the_page_keeps_its_last_line():
    page = f"```python\nimport jax\ny = {OLD}"
    assert check(page, fix=True).fixed_source == f"```python\nimport jax\ny = {NEW}"


def test_add_noqa_comments_a_block_but_not_a_doctest(tmp_path, run_cli):
    page = f".. code-block:: python\n\n   import jax\n   y = {OLD}\n\n.. code-block:: pycon\n\n   >>> import jax\n   >>> {OLD}\n"
    path = tmp_path / "page.rst"
    path.write_text(page)
    r = run_cli("--add-noqa", "page.rst")
    assert r.returncode == 1 and "page.rst:9:8: EQX101 no noqa comment can go on this line" in r.stderr
    assert path.read_text() == page.replace(f"   y = {OLD}\n", f"   y = {OLD}  # noqa: EQX101\n")


STEP_LOOP = """import equinox as eqx
import jax
import jax.numpy as jnp


@eqx.filter_jit
def make_step(model, x):
    return jax.tree.map(lambda p: p - 0.1 * jnp.mean(x), model)


model = eqx.nn.MLP(2, 2, 4, 2, key=jax.random.PRNGKey(0))
for _ in range(10):
    model = make_step(model, jnp.ones(2))
"""


def _apply(text: str, edits) -> str:
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    offsets = [(starts[e["location"]["row"] - 1] + e["location"]["column"] - 1,
                starts[e["end_location"]["row"] - 1] + e["end_location"]["column"] - 1, e["content"]) for e in edits]
    for start, end, content in sorted(offsets, reverse=True):
        text = text[:start] + content + text[end:]
    return text


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_json_edits_apply_to_the_page_as_fix_writes_it(tmp_path, run_cli, newline):
    """A multi-line fix in an indented directive: its edits, applied to the page, give what --fix wrote."""
    block = "".join(("      " + line if line else "") + "\n" for line in STEP_LOOP.splitlines())
    page = f"Training\n========\n\n.. note::\n\n   .. code-block:: python\n\n{block}\nDone.\n".replace("\n", newline)
    (tmp_path / "page.rst").write_bytes(page.encode())
    [finding] = json.loads(run_cli("--output-format", "json", "page.rst").stdout)
    assert finding["code"] == "EQX002" and len(finding["fix"]["edits"]) > 0
    run_cli("--fix", "page.rst")
    assert _apply(page, finding["fix"]["edits"]) == (tmp_path / "page.rst").read_bytes().decode() != page


def test_a_sections_examples_rely_on_the_pages_imports():
    page = f"# Setup\n\n```python\nimport jax\n```\n\n## Use\n\n```python\ny = {OLD}\n```\n"
    result = check(page, fix=True)
    assert [(d.code, d.location.row) for d in result.found] == [("EQX101", 10)]
    assert result.fixed_source == page.replace(OLD, NEW) and result.diagnostics == []


def test_a_fix_that_would_edit_another_sections_imports_is_not_offered():
    """The loop's fix needs `import jax`, which would go beside the imports borrowed from the setup
    section: that fix is not made, and the finding says so by carrying none."""
    body = "\n".join(line for line in STEP_LOOP.splitlines() if not line.startswith("import"))
    page = f"# Setup\n\n```python\nimport equinox as eqx\nimport jax.numpy as jnp\n```\n\n## Loop\n\n```python\n{body}\n```\n"
    result = check(page, fix=True)
    assert [(d.code, d.fix_safety) for d in result.diagnostics] == [("EQX002", None)]
    assert result.fixed_source == page and result.fixes_applied == 0


def test_a_loop_already_on_flattened_leaves_is_not_reported_without_an_import_of_jax():
    """The Tricks page's second loop: its `jax.tree_util.tree_flatten` is the page's, never imported."""
    page = """```python
import equinox as eqx

@eqx.filter_jit
def make_step(flat_model, x):
    model = jax.tree_util.tree_unflatten(treedef_model, flat_model)
    return jax.tree_util.tree_leaves(model)

model = ...
flat_model, treedef_model = jax.tree_util.tree_flatten(model)
for x in dataloader(...):
    flat_model = make_step(flat_model, x)
```
"""
    assert check(page).diagnostics == []
