"""Files -> engine -> results, in a process pool when there are many; writes with --fix."""

from __future__ import annotations

import difflib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import noqa, notebooks
from .engine import Diagnostic, InternalError, ParseError, Position, Settings, analyse
from .project import jitted_functions, module_class_names
from .cache import Cache, decode_cells, decode_diagnostics, encode, fingerprint
from .files import FileError, SourceFile, decode, excluded, read_source, resolved_path, write_atomic
from .rule import RuleSelection

# Below this many files a pool costs more to start than it saves.
POOL_THRESHOLD = 24


@dataclass(frozen=True)
class Job:
    settings: Settings
    fix: bool  # compute fixes (for --fix and --diff)
    root: Path
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()

    def settings_for(self, path: Path) -> Settings:
        extra = tuple(c for pattern, codes in self.per_file_ignores if excluded(path, [pattern], self.root) for c in codes)
        if not extra:
            return self.settings
        selection = self.settings.selection
        return replace(self.settings, selection=RuleSelection(selection.select, selection.ignore + extra))


@dataclass
class Error:
    row: int
    col: int
    message: str
    cell: int | None = None


@dataclass
class FileResult:
    path: Path
    diagnostics: list[Diagnostic]
    source: str = ""
    fixed_source: str | None = None
    fixes_applied: int = 0
    error: Error | None = None
    original: SourceFile | None = None
    found: list[Diagnostic] | None = None  # findings in the original source, when fixes were made
    cells: dict[int, str] | None = None  # a notebook's cell sources that diagnostics refer to
    changed_cells: list[tuple[int, str, str]] = field(default_factory=list)

    @property
    def changed(self) -> bool:
        return self.fixed_source is not None and self.fixed_source != self.source

    def line(self, d: Diagnostic) -> str:
        """The source line a diagnostic points at, for text output."""
        if d.cell is not None:
            text = (self.cells or {}).get(d.cell, "")
        else:
            text = self.fixed_source if self.found is not None and self.fixed_source else self.source
        lines = text.splitlines()
        return lines[d.location.row - 1] if 0 < d.location.row <= len(lines) else ""

    def diff(self) -> str:
        name = self.path.as_posix()
        if self.path.suffix == ".ipynb":
            return "".join(_unified(old, new, f"{name}:cell {index}") for index, old, new in self.changed_cells)
        return _unified(self.source, self.fixed_source or self.source, name)


def _unified(old: str, new: str, name: str) -> str:
    before, after = (name, name) if name.startswith("/") else (f"a/{name}", f"b/{name}")
    lines = difflib.unified_diff(old.splitlines(keepends=True), new.splitlines(keepends=True), before, after)
    return "".join(line if line.endswith("\n") else line + "\n" for line in lines)


def analyse_text(text: str, path: Path, job: Job) -> FileResult:
    """Never raises for bad input or a bug of ours: either becomes the result's `error`."""
    if path.suffix == ".ipynb":
        return _analyse_notebook(text, path, job)
    try:
        analysis = analyse(text, job.settings_for(path), fix=job.fix)
    except ParseError as exc:
        return FileResult(path, [], text, error=Error(exc.row, exc.col, exc.message))
    except InternalError as exc:
        return FileResult(path, [], text, error=Error(1, 1, f"internal error: {exc}"))
    except RecursionError:
        return FileResult(path, [], text, error=Error(1, 1, "file is nested too deeply to analyse"))
    except Exception as exc:  # a bug of ours must not lose the user's other results
        message = f"internal error in eqx-rewrite ({type(exc).__name__}: {exc}); please report it"
        return FileResult(path, [], text, error=Error(1, 1, message))
    fixed = analysis.fixed_source if job.fix else None
    return FileResult(path, analysis.diagnostics, text, fixed, analysis.fixes_applied, found=analysis.found)


def _analyse_notebook(text: str, path: Path, job: Job) -> FileResult:
    try:
        notebook = notebooks.load(text)
    except notebooks.NotebookError as exc:
        return FileResult(path, [], text, error=Error(1, 1, str(exc)))
    result = analyse_text(notebook.module, path.with_suffix(".py"), job)
    result.path, result.source = path, text
    if result.error is not None:
        result.error.cell, result.error.row = notebooks.locate(notebook.module, result.error.row)
        return result
    fixed_module = result.fixed_source if result.fixed_source is not None else notebook.module
    try:
        result.cells = notebook.cell_sources(fixed_module)
        result.changed_cells = notebook.changed_cells(fixed_module)
        result.fixed_source = notebook.with_module(fixed_module) if result.changed_cells else (text if job.fix else None)
    except notebooks.NotebookError as exc:
        return FileResult(path, [], text, error=Error(1, 1, str(exc)))
    result.diagnostics = [_in_cell(d, fixed_module) for d in result.diagnostics]
    if result.found is not None:
        result.found = [_in_cell(d, notebook.module) for d in result.found]
    return result


def _in_cell(d: Diagnostic, module: str) -> Diagnostic:
    cell, row = notebooks.locate(module, d.location.row)
    end_row = row + d.end_location.row - d.location.row
    edits = tuple(
        replace(e, location=Position(notebooks.locate(module, e.location.row)[1], e.location.col),
                end_location=Position(notebooks.locate(module, e.end_location.row)[1], e.end_location.col))
        for e in d.edits
    )
    return replace(d, location=Position(row, d.location.col), end_location=Position(end_row, d.end_location.col), edits=edits, cell=cell)


def analyse_path(path: Path, job: Job) -> FileResult:
    try:
        original = read_source(path)
    except FileError as exc:
        return FileResult(path, [], error=Error(exc.row, exc.col, exc.message))
    result = analyse_text(original.text, path, job)
    result.original = original
    return result


def run(
    paths: list[Path],
    job: Job,
    jobs: int | None = None,
    cache: Cache | None = None,
    progress: Callable[[int, int], None] | None = None,
    context: Sequence[Path] = (),
) -> list[FileResult]:
    """`context`: the project's other files, read only for what one file cannot know alone (which
    classes are Modules, which functions are jitted)."""
    raws = [_read_bytes(p) for p in paths]
    texts = [(p, r.decode("utf-8", "replace")) for p, r in zip(paths, raws) if r is not None]
    named = {resolved_path(p) for p in paths}
    others = [(p, _read_bytes(p)) for p in context if resolved_path(p) not in named]
    index_texts = texts + [(p, r.decode("utf-8", "replace")) for p, r in others if r is not None]
    classes = module_class_names(text for _, text in index_texts)
    jitted = jitted_functions(index_texts)
    job = replace(job, settings=replace(job.settings, project_module_classes=classes, project_jitted=jitted))
    results: list[FileResult | None] = [None] * len(paths)
    keys: dict[int, str] = {}
    if cache is not None and not job.fix:
        # Settings differ only by per-file ignores, and hashing them (the run's class and jit indexes
        # included) once per file would cost more than the cache saves.
        fingerprints: dict[tuple[str, ...], str] = {}
        for i, (path, raw) in enumerate(zip(paths, raws)):
            if raw is not None:
                settings = job.settings_for(path)
                ignored = settings.selection.ignore
                if ignored not in fingerprints:
                    fingerprints[ignored] = fingerprint(settings)
                keys[i] = cache.key(fingerprints[ignored], path.suffix, raw)
                entry = cache.get(keys[i])
                if entry is not None:
                    results[i] = _from_cache(path, raw, entry)
    todo = [i for i, r in enumerate(results) if r is None]
    done = len(paths) - len(todo)
    for i, result in zip(todo, _analyse_all([paths[i] for i in todo], job, jobs)):
        results[i] = result
        if i in keys and not (result.error and result.error.message.startswith("internal error")):
            cache.put(keys[i], encode(result.diagnostics, result.error, result.cells))
        done += 1
        if progress is not None:
            progress(done, len(paths))
    return results  # type: ignore[return-value]


def _read_bytes(path: Path) -> bytes | None:
    try:
        return path.read_bytes()
    except OSError:
        return None  # reported when the file itself is analysed


def _from_cache(path: Path, raw: bytes, entry: dict) -> FileResult:
    try:
        text, _ = decode(raw)
    except FileError:
        text = ""
    error = Error(**entry["error"]) if entry.get("error") else None
    return FileResult(path, decode_diagnostics(entry), text, error=error, cells=decode_cells(entry))


def _analyse_all(paths: list[Path], job: Job, jobs: int | None) -> Iterator[FileResult]:
    workers = min(jobs or os.cpu_count() or 1, len(paths))
    if workers <= 1 or len(paths) < POOL_THRESHOLD:
        yield from (analyse_path(p, job) for p in paths)
        return
    chunksize = max(1, len(paths) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_analyse_path_star, [(p, job) for p in paths], chunksize=chunksize)


def _analyse_path_star(args: tuple[Path, Job]) -> FileResult:
    return analyse_path(*args)


def write_fixes(results: list[FileResult]) -> None:
    """Write every changed file atomically; a failure becomes that file's error, the rest go on."""
    for result in results:
        if not result.changed or result.original is None or result.error is not None:
            continue
        try:
            write_atomic(result.original, result.fixed_source)
        except FileError as exc:
            result.error = Error(exc.row, exc.col, exc.message)
            hold_back(result)
        except (OSError, UnicodeEncodeError) as exc:
            result.error = Error(1, 1, f"cannot write fixes: {exc}")
            hold_back(result)


def hold_back(result: FileResult) -> None:
    """The file keeps its original text, so its original findings are the ones that stand."""
    result.diagnostics = result.found or result.diagnostics
    result.fixed_source = None
    result.fixes_applied = 0


@dataclass
class NoqaOutcome:
    added: int = 0
    refused: list[tuple[FileResult, Diagnostic]] = field(default_factory=list)  # no comment could go there


def add_noqa_comments(results: list[FileResult]) -> NoqaOutcome:
    """Suppress every finding with a `# noqa` comment on its line; files are written atomically, and
    one that cannot be becomes that file's error."""
    outcome = NoqaOutcome()
    for result in results:
        if not result.diagnostics or result.error is not None:
            continue
        try:
            original = result.original or read_source(result.path)
            if original.text != result.source:
                raise FileError("file changed on disk while it was being checked; not written")
            text, added, refused = _with_noqa(result, original.text)
            if added:
                write_atomic(original, text)
        except FileError as exc:
            result.error = Error(exc.row, exc.col, exc.message)
        except notebooks.NotebookError as exc:
            result.error = Error(1, 1, str(exc))
        except (OSError, UnicodeEncodeError) as exc:
            result.error = Error(1, 1, f"cannot write noqa comments: {exc}")
        else:
            outcome.added += added
            outcome.refused += [(result, d) for d in refused]
    return outcome


def _with_noqa(result: FileResult, text: str) -> tuple[str, int, list[Diagnostic]]:
    """The new text, how many lines got a comment, and the findings none could be added for. A
    notebook's comments go into its joined module, which is then written back into its cells."""
    notebook = notebooks.load(text) if result.path.suffix == ".ipynb" else None
    module = notebook.module if notebook is not None else text

    def row(d: Diagnostic) -> int:
        return notebooks.module_row(module, d.cell, d.location.row) if d.cell is not None else d.location.row

    codes_by_row: dict[int, set[str]] = {}
    for d in result.diagnostics:
        codes_by_row.setdefault(row(d), set()).add(d.code)
    added = noqa.add_noqa(module, codes_by_row)
    refused = [d for d in result.diagnostics if row(d) in added.refused]
    if notebook is not None:
        return (notebook.with_module(added.text) if added.added else text), added.added, refused
    return added.text, added.added, refused
