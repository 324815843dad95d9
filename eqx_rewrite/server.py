"""`eqx-rewrite server`: the engine behind the Language Server Protocol, over stdio.

Diagnostics for `.py` files and notebooks (LSP 3.17 notebook documents; code cells analysed together,
as the CLI does), a quick fix per finding's fix, and "fix all" as a source action whose edit is what
`--fix` would write. Like `--check`, it never imports or runs the user's code.
"""

from __future__ import annotations

import asyncio
import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from . import __version__, joined, notebooks
from .config import Config, ConfigError, find_config, load_config
from .engine import Diagnostic, apply_located
from .files import discover, excluded, read_source, resolved_path
from .project import jitted_functions, key_ignoring_classes, module_class_names, star_exports
from .rule import explanation, rule_url
from .runner import Error, Job, analyse_text

# Long enough that a burst of keystrokes is analysed once, short enough to feel live.
DEBOUNCE_SECONDS = 0.3
FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.eqx-rewrite"
EXPLAIN_COMMAND = "eqx-rewrite.explain"
SOURCE = "eqx-rewrite"
# The line breaks LSP counts (Python's str.splitlines also breaks at form feeds and others).
LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


def lines_of(text: str) -> list[str]:
    return LINE.findall(text)


# --- the project: configuration and the cross-file Module index ------------------------------------


@dataclass
class Project:
    """One configuration's files, read once; the editor's unsaved texts replace theirs as they change."""

    root: Path
    config: Config
    texts: dict[Path, str]
    _index: tuple[frozenset[str], frozenset[tuple[str, str]]] | None = None

    @classmethod
    def load(cls, root: Path, config: Config) -> "Project":
        files = discover([root], config.exclude + config.extend_exclude, root, respect_gitignore=config.respect_gitignore).files
        return cls(root, config, {resolved_path(p): _read_text(p) for p in files})

    def update(self, path: Path, text: str) -> None:
        key = resolved_path(path)
        if self.texts.get(key) != text:
            self.texts[key] = text
            self._index = None

    def job(self, fix: bool) -> Job:
        if self._index is None:
            texts = self.texts
            self._index = (module_class_names(texts.values()), jitted_functions(texts.items()), star_exports(texts.items()), key_ignoring_classes(texts.values()))
        classes, jitted, stars, ignoring = self._index
        config = self.config
        settings = replace(config.settings(), project_module_classes=classes, project_jitted=jitted, project_star_exports=stars, project_key_ignoring=ignoring)
        return Job(settings, fix, config.root, tuple((p, tuple(c)) for p, c in config.per_file_ignores.items()))

    def excludes(self, path: Path) -> bool:
        return excluded(path, self.config.exclude + self.config.extend_exclude, self.config.root)


def _read_text(path: Path) -> str:
    try:
        return read_source(path).text
    except Exception:  # noqa: BLE001 - an unreadable file only leaves the index without it
        return ""


class Projects:
    """Projects by root: the folder of the document's pyproject.toml, else its workspace folder, as
    `eqx-rewrite --fix` run there would see them."""

    def __init__(self) -> None:
        self.by_root: dict[Path, Project] = {}

    def for_path(self, path: Path, folders: list[Path]) -> Project:
        config = load_config(find_config(path))  # read again each time: the user may be editing it
        root = config.root if config.path is not None else _folder_of(path, folders)
        project = self.by_root.get(root)
        if project is None:
            project = self.by_root[root] = Project.load(root, config)
        project.config = config
        return project


def _folder_of(path: Path, folders: list[Path]) -> Path:
    inside = [f for f in folders if resolved_path(path).is_relative_to(f)]
    return max(inside, key=lambda f: len(f.parts)) if inside else resolved_path(path).parent


# --- what one analysis covers: a Python document, or a notebook's cells ----------------------------


@dataclass
class Unit:
    """The text the engine analyses (`module`), the documents it came from, and the way back."""

    path: Path  # the file on disk
    analysed_as: Path  # the name the engine is given: a notebook's cells are analysed as a .py module
    module: str
    documents: dict[str, str]  # uri -> the document's text
    place: Callable[[int], tuple[str, int]]  # a row of `module` -> (uri, row within that document)
    split: Callable[[str], dict[str, str]]  # a fixed module -> uri -> new text


def python_unit(uri: str, path: Path, text: str) -> Unit:
    return Unit(path, path, text, {uri: text}, lambda row: (uri, row), lambda fixed: {uri: fixed})


def notebook_unit(uri: str, path: Path, cells: list[tuple[str, bool, str]]) -> Unit:
    """`cells`: (uri, is code, text) in the notebook's order. They become the nbformat 4 notebook the
    CLI would read, so cells are numbered, magics kept out and code joined exactly as for a file."""
    data = {
        "cells": [{"cell_type": "code" if code else "markdown", "metadata": {}, "source": text} for _, code, text in cells],
        "metadata": {},
        "nbformat": 4,
        "nbformat_minor": 5,
    }
    notebook = notebooks.load(json.dumps(data))
    module = notebook.module
    uris = {index: cell_uri for index, (cell_uri, _, _) in enumerate(cells, start=1)}
    texts = {cell_uri: text for cell_uri, _, text in cells}

    def place(row: int) -> tuple[str, int]:
        cell, cell_row = joined.locate(module, row)
        return uris[cell], cell_row

    def split(fixed: str) -> dict[str, str]:
        return {uris[index]: text for index, text in notebook.cell_sources(fixed).items()}

    documents = {uris[c.index]: texts[uris[c.index]] for c in notebook.cells}
    return Unit(path, path.with_suffix(".py"), module, documents, place, split)


# --- engine results as LSP -------------------------------------------------------------------------


@dataclass
class Placed:
    """An engine diagnostic in the document it belongs to, in the client's position units."""

    uri: str
    range: types.Range
    diagnostic: Diagnostic


@dataclass
class Report:
    unit: Unit
    project: Project
    placed: list[Placed] = field(default_factory=list)
    error: types.Diagnostic | None = None
    error_uri: str | None = None

    def published(self) -> dict[str, list[types.Diagnostic]]:
        by_uri: dict[str, list[types.Diagnostic]] = {uri: [] for uri in self.unit.documents}
        for p in self.placed:
            by_uri[p.uri].append(as_lsp(p))
        if self.error is not None:
            by_uri[self.error_uri].append(self.error)
        return by_uri


def as_lsp(p: Placed) -> types.Diagnostic:
    d = p.diagnostic
    return types.Diagnostic(
        range=p.range,
        message=d.message,
        severity=types.DiagnosticSeverity.Warning,
        code=d.code,
        code_description=types.CodeDescription(href=rule_url(d.code)),
        source=SOURCE,
    )


class Positions:
    """Engine rows and columns (1-based, in characters) -> LSP positions in the client's units."""

    def __init__(self, unit: Unit, codec):
        self.unit = unit
        self.codec = codec
        self.lines = {uri: lines_of(text) for uri, text in unit.documents.items()}

    def place(self, row: int, col: int, end_row: int, end_col: int) -> tuple[str, types.Range]:
        uri, start = self.unit.place(row)
        end = start + end_row - row  # a finding never spans cells
        return uri, types.Range(self.position(uri, start, col), self.position(uri, end, end_col))

    def position(self, uri: str, row: int, col: int) -> types.Position:
        lines = self.lines[uri]
        if row > len(lines):
            return types.Position(len(lines), 0)
        text = lines[row - 1].rstrip("\r\n")
        return types.Position(row - 1, self.codec.client_num_units(text[: col - 1]))


def analyse_unit(unit: Unit, project: Project, codec) -> Report:
    result = analyse_text(unit.module, unit.analysed_as, project.job(fix=False))
    positions = Positions(unit, codec)
    report = Report(unit, project)
    if result.error is not None:
        report.error_uri, report.error = _error_diagnostic(result.error, positions)
        return report
    for d in result.diagnostics:
        uri, where = positions.place(d.location.row, d.location.col, d.end_location.row, d.end_location.col)
        report.placed.append(Placed(uri, where, d))
    return report


def _error_diagnostic(error: Error, positions: Positions) -> tuple[str, types.Diagnostic]:
    uri, where = positions.place(error.row, error.col, error.row, error.col)
    message = f"eqx-rewrite could not analyse this file: {error.message}"
    return uri, types.Diagnostic(range=where, message=message, severity=types.DiagnosticSeverity.Error, source=SOURCE)


def workspace_edit(unit: Unit, fixed_module: str, codec) -> types.WorkspaceEdit | None:
    """The edits that turn the unit's documents into the ones `fixed_module` splits into."""
    try:
        documents = unit.split(fixed_module)
    except notebooks.NotebookError:
        return None  # a fix that moves code across cells is never offered, as --fix never writes it
    changes = {}
    for uri, new in documents.items():
        old = unit.documents[uri]
        if new != old:
            changes[uri] = [replacement(old, new, codec)]
    return types.WorkspaceEdit(changes=changes) if changes else None


def replacement(old: str, new: str, codec) -> types.TextEdit:
    """One edit replacing the lines that differ: positions at line starts need no unit conversion,
    and an untouched line keeps its exact bytes."""
    before, after = lines_of(old), lines_of(new)
    head = 0
    while head < min(len(before), len(after)) and before[head] == after[head]:
        head += 1
    tail = 0
    while tail < min(len(before), len(after)) - head and before[-1 - tail] == after[-1 - tail]:
        tail += 1
    end_line = len(before) - tail
    if tail == 0 and before and not before[-1].endswith(("\n", "\r")):
        end = types.Position(end_line - 1, codec.client_num_units(before[-1]))  # the last line, no newline
    else:
        end = types.Position(end_line, 0)
    return types.TextEdit(types.Range(types.Position(head, 0), end), "".join(after[head : len(after) - tail]))


def quick_fixes(report: Report, uri: str, wanted: types.Range, codec) -> list[types.CodeAction]:
    actions = []
    for p in report.placed:
        d = p.diagnostic
        if p.uri != uri or not d.edits or not _overlaps(p.range, wanted):
            continue
        edit = workspace_edit(report.unit, apply_located(report.unit.module, d.edits), codec)
        if edit is None:
            continue
        actions.append(
            types.CodeAction(
                title=f"Fix {d.code} ({d.fix_safety}): {d.fix_message}",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=[as_lsp(p)],
                edit=edit,
                is_preferred=d.fix_safety == "safe",
            )
        )
    return actions


def fix_all(report: Report, codec) -> types.CodeAction | None:
    """What `--fix` writes: every fix the configuration allows (unsafe ones with `unsafe-fixes`),
    applied to a fixpoint."""
    unit = report.unit
    result = analyse_text(unit.module, unit.analysed_as, report.project.job(fix=True))
    if result.error is not None or not result.changed:
        return None
    safety = "safe and unsafe" if report.project.config.unsafe_fixes else "safe"
    edit = workspace_edit(unit, result.fixed_source, codec)
    return types.CodeAction(title=f"eqx-rewrite: fix all ({safety})", kind=FIX_ALL, edit=edit) if edit else None


def _overlaps(a: types.Range, b: types.Range) -> bool:
    def key(p: types.Position) -> tuple[int, int]:
        return (p.line, p.character)

    return key(a.start) <= key(b.end) and key(b.start) <= key(a.end)


def _wants(only: list[str] | None, kind: str) -> bool:
    return not only or any(kind == o or kind.startswith(o + ".") for o in only)


# --- the server ------------------------------------------------------------------------------------


class EqxServer(LanguageServer):
    def __init__(self) -> None:
        super().__init__(
            "eqx-rewrite",
            __version__,
            notebook_document_sync=types.NotebookDocumentSyncOptions(
                notebook_selector=[types.NotebookDocumentFilterWithCells(cells=[types.NotebookCellLanguage(language="python")])],
                save=True,
            ),
        )
        self.projects = Projects()
        self.reports: dict[str, Report] = {}  # by the uri of the .py file or the notebook
        self.pending: dict[str, asyncio.TimerHandle] = {}

    # which unit a uri belongs to
    def unit_for(self, uri: str) -> Unit | None:
        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        if notebook is not None:
            cells = [
                (c.document, c.kind == types.NotebookCellKind.Code, self.workspace.get_text_document(c.document).source)
                for c in notebook.cells
            ]
            return notebook_unit(uri, _path_of(uri, ".ipynb"), cells)
        document = self.workspace.get_text_document(uri)
        path = _path_of(uri, ".py")
        if path.suffix != ".py" and document.language_id != "python":
            return None
        return python_unit(uri, path, document.source)

    def owner(self, uri: str) -> str:
        """The uri a cell's findings are filed under: its notebook's."""
        notebook = self.workspace.get_notebook_document(cell_uri=uri)
        return notebook.uri if notebook is not None else uri

    def folders(self) -> list[Path]:
        found = [to_fs_path(f.uri) for f in self.workspace.folders.values()]
        return [resolved_path(Path(f)) for f in found + [self.workspace.root_path] if f]

    def report_for(self, uri: str) -> Report | None:
        """The analysis of the document as it is now: the last one, unless the text changed since."""
        unit = self.unit_for(uri)
        if unit is None:
            return None
        report = self.reports.get(uri)
        if report is not None and report.unit.documents == unit.documents:
            return report
        return self.lint(uri)

    def lint(self, uri: str) -> Report | None:
        """Analyse and publish; a failure of ours is logged and shown on the document, never fatal."""
        self.cancel(uri)
        try:
            return self._lint(uri)
        except ConfigError as exc:
            self.show_problem(uri, f"configuration error: {exc}")
        except Exception as exc:  # noqa: BLE001 - one document must not take the server down
            self.show_problem(uri, f"internal error in eqx-rewrite ({type(exc).__name__}: {exc}); please report it")
        return None

    def _lint(self, uri: str) -> Report | None:
        unit = self.unit_for(uri)
        if unit is None:
            return None
        project = self.projects.for_path(unit.path, self.folders())
        if unit.path.suffix == ".py":
            project.update(unit.path, unit.module)
        if project.excludes(unit.path):
            self.publish({u: [] for u in unit.documents})
            return None
        report = analyse_unit(unit, project, self.workspace.position_codec)
        self.reports[uri] = report
        self.publish(report.published())
        return report

    def publish(self, by_uri: dict[str, list[types.Diagnostic]]) -> None:
        for uri, diagnostics in by_uri.items():
            self.text_document_publish_diagnostics(types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics))

    def show_problem(self, uri: str, message: str) -> None:
        self.window_log_message(types.LogMessageParams(type=types.MessageType.Error, message=f"{uri}: {message}"))
        where = types.Range(types.Position(0, 0), types.Position(0, 0))
        problem = types.Diagnostic(range=where, message=message, severity=types.DiagnosticSeverity.Error, source=SOURCE)
        notebook = self.workspace.get_notebook_document(notebook_uri=uri)
        target = notebook.cells[0].document if notebook is not None and notebook.cells else uri
        self.publish({target: [problem]})

    def schedule(self, uri: str) -> None:
        self.cancel(uri)
        self.pending[uri] = asyncio.get_running_loop().call_later(DEBOUNCE_SECONDS, self.lint, uri)

    def cancel(self, uri: str) -> None:
        waiting = self.pending.pop(uri, None)
        if waiting is not None:
            waiting.cancel()

    def forget(self, uri: str, documents: list[str]) -> None:
        """A closed document: its findings go, and the index returns to the file on disk."""
        self.cancel(uri)
        report = self.reports.pop(uri, None)
        if report is not None and report.unit.path.suffix == ".py" and report.unit.path.is_file():
            report.project.update(report.unit.path, _read_text(report.unit.path))
        self.publish({d: [] for d in documents})

    def relint_open(self, saved: str) -> None:
        """After a save the index may have changed (a new Module class): the other open files see it."""
        self.lint(saved)
        for uri in [u for u in self.reports if u != saved]:
            self.lint(uri)


def _path_of(uri: str, suffix: str) -> Path:
    path = to_fs_path(uri)
    return Path(path) if path else Path.cwd() / f"untitled{suffix}"


def build_server() -> EqxServer:
    server = EqxServer()

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: EqxServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.lint(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    async def did_change(ls: EqxServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE)
    def did_save(ls: EqxServer, params: types.DidSaveTextDocumentParams) -> None:
        ls.relint_open(params.text_document.uri)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: EqxServer, params: types.DidCloseTextDocumentParams) -> None:
        ls.forget(params.text_document.uri, [params.text_document.uri])

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_OPEN)
    def notebook_open(ls: EqxServer, params: types.DidOpenNotebookDocumentParams) -> None:
        ls.lint(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CHANGE)
    async def notebook_change(ls: EqxServer, params: types.DidChangeNotebookDocumentParams) -> None:
        ls.schedule(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_SAVE)
    def notebook_save(ls: EqxServer, params: types.DidSaveNotebookDocumentParams) -> None:
        ls.lint(params.notebook_document.uri)

    @server.feature(types.NOTEBOOK_DOCUMENT_DID_CLOSE)
    def notebook_close(ls: EqxServer, params: types.DidCloseNotebookDocumentParams) -> None:
        ls.forget(params.notebook_document.uri, [c.uri for c in params.cell_text_documents])

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL]),
    )
    def code_action(ls: EqxServer, params: types.CodeActionParams) -> list[types.CodeAction]:
        uri = params.text_document.uri
        report = ls.report_for(ls.owner(uri))
        if report is None:
            return []
        codec = ls.workspace.position_codec
        only = params.context.only
        actions = quick_fixes(report, uri, params.range, codec) if _wants(only, types.CodeActionKind.QuickFix) else []
        if _wants(only, FIX_ALL):
            every = fix_all(report, codec)
            actions += [every] if every is not None else []
        return actions

    @server.feature(types.TEXT_DOCUMENT_HOVER)
    def hover(ls: EqxServer, params: types.HoverParams) -> types.Hover | None:
        uri = params.text_document.uri
        report = ls.reports.get(ls.owner(uri))
        at = types.Range(params.position, params.position)
        codes = dict.fromkeys(p.diagnostic.code for p in (report.placed if report else []) if p.uri == uri and _overlaps(p.range, at))
        if not codes:
            return None
        text = "\n\n---\n\n".join(explanation(code) or "" for code in codes)
        return types.Hover(contents=types.MarkupContent(kind=types.MarkupKind.Markdown, value=text))

    @server.command(EXPLAIN_COMMAND)
    def explain(ls: EqxServer, code: str) -> str | None:
        return explanation(code)

    return server


def serve() -> None:
    build_server().start_io()

