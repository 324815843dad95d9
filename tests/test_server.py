"""`eqx-rewrite server` end to end: a real LSP client (pytest-lsp) drives the server over stdio, and
every fix it offers must equal what `eqx-rewrite --fix` writes for the same text."""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import pytest_lsp
from click.testing import CliRunner
from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from catalogue import RULES_DIR
from eqx_rewrite.cli import cli
from eqx_rewrite.server import FIX_ALL


SERVER_COMMAND = [sys.executable, "-m", "eqx_rewrite", "server"]
CASE = (RULES_DIR / "EQX005" / "setattr_replace_layer.py").read_text()
# A file some rule could fire on is parsed, and this one does not parse; a file no rule could fire on
# is never parsed, by the server as by the CLI, and gets no diagnostics at all.
BROKEN = CASE.replace("return mlp(jnp.ones(3))", "return mlp(jnp.ones(3)")
WAIT_SECONDS = 30


@pytest_lsp.fixture(config=ClientServerConfig(server_command=SERVER_COMMAND))
async def client(lsp_client: LanguageClient, tmp_path: Path):
    lsp_client.workspace_root = tmp_path
    await lsp_client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("visual-studio-code"),
            workspace_folders=[types.WorkspaceFolder(uri=tmp_path.as_uri(), name="work")],
        )
    )
    yield
    await lsp_client.shutdown_session()


# --- what the CLI says about the same text ---------------------------------------------------------


def cli_fix(name: str, text: str, folder: Path) -> str:
    path = folder / name
    path.write_text(text)
    result = CliRunner().invoke(cli, [str(path), "--fix", "--no-cache", "-q"])
    assert result.exit_code in (0, 1), result.output
    return path.read_text()


def cli_findings(name: str, text: str, folder: Path) -> list[dict]:
    path = folder / name
    path.write_text(text)
    result = CliRunner().invoke(cli, [str(path), "--output-format", "json", "--no-cache"])
    return json.loads(result.stdout)


def lsp_range(finding: dict) -> types.Range:
    start, end = finding["location"], finding["end_location"]
    return types.Range(types.Position(start["row"] - 1, start["column"] - 1), types.Position(end["row"] - 1, end["column"] - 1))


# --- the client's side -----------------------------------------------------------------------------


async def diagnostics(client: LanguageClient, uri: str) -> list[types.Diagnostic]:
    """The next diagnostics published for `uri` (the caller pops old ones first)."""
    for _ in range(WAIT_SECONDS * 20):
        if uri in client.diagnostics:
            return list(client.diagnostics[uri])
        await asyncio.sleep(0.05)
    raise AssertionError(f"no diagnostics for {uri} within {WAIT_SECONDS} s")


def open_file(client: LanguageClient, path: Path, text: str) -> str:
    uri = path.as_uri()
    client.text_document_did_open(types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text)))
    return uri


def apply(text: str, edits: list[types.TextEdit]) -> str:
    """Apply LSP edits (positions in UTF-16 units) as an editor does."""
    lines = text.splitlines(keepends=True)

    def offset(p: types.Position) -> int:
        line = lines[p.line] if p.line < len(lines) else ""
        units = line.encode("utf-16-le")[: p.character * 2].decode("utf-16-le")
        return sum(len(x) for x in lines[: p.line]) + len(units)

    for edit in sorted(edits, key=lambda e: (e.range.start.line, e.range.start.character), reverse=True):
        text = text[: offset(edit.range.start)] + edit.new_text + text[offset(edit.range.end) :]
    return text


async def actions(client: LanguageClient, uri: str, where: types.Range, found: list[types.Diagnostic], only=None):
    params = types.CodeActionParams(
        types.TextDocumentIdentifier(uri), where, types.CodeActionContext(diagnostics=found, only=only)
    )
    return await client.text_document_code_action_async(params) or []


# --- tests -----------------------------------------------------------------------------------------


@pytest.mark.asyncio
async def test_diagnostics_and_fixes_equal_the_cli(client: LanguageClient, tmp_path: Path, tmp_path_factory):
    expected_fix = cli_fix("model.py", CASE, tmp_path_factory.mktemp("cli"))
    (finding,) = cli_findings("model.py", CASE, tmp_path_factory.mktemp("cli"))
    uri = open_file(client, tmp_path / "model.py", CASE)

    (diagnostic,) = await diagnostics(client, uri)
    assert diagnostic.code == "EQX005"
    assert diagnostic.range == lsp_range(finding)
    assert diagnostic.message == finding["message"]
    assert diagnostic.code_description.href == finding["url"]

    offered = await actions(client, uri, diagnostic.range, [diagnostic])
    (quick,) = [a for a in offered if a.kind == types.CodeActionKind.QuickFix]
    assert quick.title.startswith("Fix EQX005 (safe): ")
    assert apply(CASE, quick.edit.changes[uri]) == expected_fix != CASE

    (every,) = await actions(client, uri, diagnostic.range, [diagnostic], only=[types.CodeActionKind.SourceFixAll])
    assert every.kind == FIX_ALL
    assert apply(CASE, every.edit.changes[uri]) == expected_fix

    # The user applies the fix: the (debounced) change clears the finding.
    client.diagnostics.pop(uri)
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(2, uri), [types.TextDocumentContentChangeWholeDocument(expected_fix)]
        )
    )
    assert await diagnostics(client, uri) == []
    assert await actions(client, uri, diagnostic.range, [], only=[types.CodeActionKind.SourceFixAll]) == []


@pytest.mark.asyncio
@pytest.mark.parametrize(
    "config, codes",
    [
        ('ignore = ["EQX005"]', []),
        # The configuration's extend-select counts, as on the command line.
        ('select = ["EQX001"]\nextend-select = ["EQX005"]', ["EQX005"]),
    ],
)
async def test_configuration_is_found_from_the_document(client: LanguageClient, tmp_path: Path, config, codes):
    project = tmp_path / "configured"
    project.mkdir()
    (project / "pyproject.toml").write_text(f"[tool.eqx-rewrite]\n{config}\n")
    uri = open_file(client, project / "model.py", CASE)
    assert [d.code for d in await diagnostics(client, uri)] == codes


STEPS = """import equinox as eqx


@eqx.filter_jit
def make_step(model, opt_state, x):
    return model, opt_state
"""
TRAIN = """import jax.numpy as jnp
from steps import make_step


def train(model, opt_state, data):
    for x in data:
        model, opt_state = make_step(model, opt_state, x)
    return model
"""


@pytest.mark.asyncio
async def test_the_project_index_comes_from_the_workspace_and_follows_edits(client: LanguageClient, tmp_path: Path):
    (tmp_path / "steps.py").write_text(STEPS)
    train = open_file(client, tmp_path / "train.py", TRAIN)
    (finding,) = await diagnostics(client, train)
    assert finding.code == "EQX002"
    assert finding.message.endswith("no fix: the step is compiled in another module (`steps.make_step`)")

    # The step stops being jitted in the editor; once saved, the other open file no longer sees it.
    steps = open_file(client, tmp_path / "steps.py", STEPS)
    await diagnostics(client, steps)
    unjitted = STEPS.replace("@eqx.filter_jit\n", "")
    client.diagnostics.clear()
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            types.VersionedTextDocumentIdentifier(2, steps), [types.TextDocumentContentChangeWholeDocument(unjitted)]
        )
    )
    client.text_document_did_save(types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(steps)))
    assert await diagnostics(client, train) == []


def cells_of(text: str) -> list[tuple[bool, str]]:
    """The case as a notebook: imports, a Markdown cell, then the function with a line magic in it."""
    imports, body = text.split("\n\n\n", 1)
    body = body.replace("    layers = list(mlp.layers)\n", "    layers = list(mlp.layers)\n    %time 1\n")
    return [(True, imports), (False, "# Swap the head"), (True, body.rstrip("\n"))]


def notebook_json(cells: list[tuple[bool, str]]) -> str:
    data = {
        "cells": [
            {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": text}
            if code
            else {"cell_type": "markdown", "metadata": {}, "source": text}
            for code, text in cells
        ],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    return json.dumps(data, indent=1) + "\n"


@pytest.mark.asyncio
async def test_notebook_cells_are_analysed_together_and_fixed_as_the_cli_does(client, tmp_path: Path, tmp_path_factory):
    cells = cells_of(CASE)
    written = json.loads(cli_fix("nb.ipynb", notebook_json(cells), tmp_path_factory.mktemp("cli")))
    expected = [cell["source"] for cell in written["cells"]]
    (finding,) = cli_findings("nb.ipynb", notebook_json(cells), tmp_path_factory.mktemp("cli"))
    assert expected[2] != cells[2][1]

    uri = (tmp_path / "nb.ipynb").as_uri()
    cell_uris = [f"vscode-notebook-cell:{tmp_path / 'nb.ipynb'}#cell{i}" for i in range(len(cells))]
    kinds = {True: types.NotebookCellKind.Code, False: types.NotebookCellKind.Markup}
    client.notebook_document_did_open(
        types.DidOpenNotebookDocumentParams(
            types.NotebookDocument(uri, "jupyter-notebook", 1, [types.NotebookCell(kinds[c], u) for (c, _), u in zip(cells, cell_uris)]),
            [types.TextDocumentItem(u, "python" if c else "markdown", 1, text) for (c, text), u in zip(cells, cell_uris)],
        )
    )

    (diagnostic,) = await diagnostics(client, cell_uris[finding["cell"] - 1])
    assert finding["cell"] == 3 and diagnostic.code == "EQX005"
    assert diagnostic.range == lsp_range(finding)  # rows count from the cell's first line, as the CLI's
    assert await diagnostics(client, cell_uris[0]) == []

    offered = await actions(client, cell_uris[2], diagnostic.range, [diagnostic])
    (quick,) = [a for a in offered if a.kind == types.CodeActionKind.QuickFix]
    (every,) = [a for a in offered if a.kind == FIX_ALL]
    for action in (quick, every):
        edited = [apply(text, action.edit.changes.get(u, [])) for (_, text), u in zip(cells, cell_uris)]
        assert edited == expected

    # The editor applies the fix to the cell: the notebook's (debounced) change clears the finding.
    client.diagnostics.clear()
    fixed_cell = types.NotebookDocumentCellContentChanges(
        types.VersionedTextDocumentIdentifier(2, cell_uris[2]), [types.TextDocumentContentChangeWholeDocument(expected[2])]
    )
    client.notebook_document_did_change(
        types.DidChangeNotebookDocumentParams(
            types.VersionedNotebookDocumentIdentifier(2, uri),
            types.NotebookDocumentChangeEvent(cells=types.NotebookDocumentCellChanges(text_content=[fixed_cell])),
        )
    )
    assert await diagnostics(client, cell_uris[2]) == []


@pytest.mark.asyncio
async def test_unparsable_document_is_reported_and_the_server_keeps_serving(client: LanguageClient, tmp_path: Path):
    uri = open_file(client, tmp_path / "broken.py", BROKEN)
    (error,) = await diagnostics(client, uri)
    assert error.severity == types.DiagnosticSeverity.Error
    assert "SyntaxError: '(' was never closed" in error.message
    assert error.range.start == types.Position(14, 14)  # where the CLI says: broken.py:15:15
    assert await actions(client, uri, error.range, [error]) == []

    good = open_file(client, tmp_path / "model.py", CASE)
    (diagnostic,) = await diagnostics(client, good)
    hover = await client.text_document_hover_async(types.HoverParams(types.TextDocumentIdentifier(good), diagnostic.range.start))
    explained = CliRunner().invoke(cli, ["--explain", "EQX005"]).output
    assert hover.contents.value + "\n" == explained
    command = types.ExecuteCommandParams("eqx-rewrite.explain", ["EQX005"])
    assert await client.workspace_execute_command_async(command) + "\n" == explained


def test_without_pygls_the_server_says_what_to_install():
    blocked = "import sys; sys.modules['pygls'] = None; sys.argv = ['eqx-rewrite', 'server']; from eqx_rewrite.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", blocked], capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["Error: eqx-rewrite server needs pygls; install it with: pip install 'eqx-rewrite[server]'"]


@pytest.mark.skipif(shutil.which("nvim") is None, reason="Neovim is not installed")
def test_neovim_applies_fix_all_as_the_cli_fixes(tmp_path: Path, tmp_path_factory):
    expected = cli_fix("model.py", CASE, tmp_path_factory.mktemp("cli"))
    (tmp_path / "model.py").write_text(CASE)
    script = Path(__file__).parent / "editors" / "neovim_fix_all.lua"
    env = dict(os.environ, EQX_SERVER_CMD=json.dumps(SERVER_COMMAND), EQX_FILE="model.py", EQX_OUT=str(tmp_path / "out.txt"))
    subprocess.run(["nvim", "--headless", "-u", "NONE", "-c", f"luafile {script}"], cwd=tmp_path, env=env, timeout=120, check=True)
    report = (tmp_path / "out.txt").read_text().splitlines()
    assert report[0].startswith("diagnostic 14:5 `object.__setattr__` mutates")
    assert report[1:] == ["action source.fixAll.eqx-rewrite: eqx-rewrite: fix all (safe)", "diagnostics after the fix: 0"]
    assert (tmp_path / "model.py").read_text() == expected
