"""Files -> engine -> results, in a process pool when there are many; writes with --fix."""

from __future__ import annotations

import difflib
import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Callable, Iterator, Sequence

from . import joined, noqa, notebooks, pages
from .engine import Analysis, Diagnostic, InternalError, ParseError, Settings, analyse
from .project import jitted_functions, key_ignoring_classes, module_class_names, star_exports
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
class Problem:
    """A part of a file left out of the analysis while the rest was analysed: a notebook cell that does
    not parse (an error) or a page's block of pseudo-code (a note)."""

    row: int
    col: int
    message: str
    severity: str  # "error" or "note"
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
    problems: list[Problem] = field(default_factory=list)

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
        try:
            notebook = notebooks.load(text)
        except notebooks.NotebookError as exc:
            return FileResult(path, [], text, error=Error(1, 1, str(exc)))
        return _guarded(text, path, lambda: _analyse_notebook(notebook, text, path, job))
    if pages.is_page(path):
        return _guarded(text, path, lambda: _analyse_page(text, path, job))
    return _guarded(text, path, lambda: _analyse_python(text, path, job))


def _guarded(text: str, path: Path, analyse_file: Callable[[], FileResult]) -> FileResult:
    try:
        return analyse_file()
    except ParseError as exc:
        return FileResult(path, [], text, error=Error(exc.row, exc.col, exc.message))
    except InternalError as exc:
        return FileResult(path, [], text, error=Error(1, 1, f"internal error: {exc}"))
    except RecursionError:
        return FileResult(path, [], text, error=Error(1, 1, "file is nested too deeply to analyse"))
    except (notebooks.NotebookError, joined.JoinError) as exc:
        return FileResult(path, [], text, error=Error(1, 1, str(exc)))
    except Exception as exc:  # a bug of ours must not lose the user's other results
        message = f"internal error in eqx-rewrite ({type(exc).__name__}: {exc}); please report it"
        return FileResult(path, [], text, error=Error(1, 1, message))


def _analyse_python(text: str, path: Path, job: Job) -> FileResult:
    analysis = analyse(text, job.settings_for(path), fix=job.fix)
    fixed = analysis.fixed_source if job.fix else None
    return FileResult(path, analysis.diagnostics, text, fixed, analysis.fixes_applied, found=analysis.found)


def _analyse_notebook(notebook: notebooks.Notebook, text: str, path: Path, job: Job) -> FileResult:
    """A cell that does not parse is an error (the notebook does not run) but not the others'."""
    outcome = _analyse_joined(notebook.parts, path, job)
    sources = notebook.restore(outcome.sources)
    result = FileResult(path, [], text, fixes_applied=outcome.analysis.fixes_applied)
    result.problems = [Problem(s.row, s.col, s.message, "error", s.index) for s in outcome.skipped]
    result.cells = {c.index: sources.get(c.index, c.source) for c in notebook.cells}
    result.changed_cells = notebook.changed_cells(sources)
    result.fixed_source = notebook.with_sources(sources) if result.changed_cells else (text if job.fix else None)
    result.diagnostics = [joined.relocate(d, outcome.fixed_module, notebook.place) for d in outcome.analysis.diagnostics]
    if outcome.analysis.found is not None:
        result.found = [joined.relocate(d, outcome.module, notebook.place) for d in outcome.analysis.found]
    return result


def _analyse_page(text: str, path: Path, job: Job) -> FileResult:
    """A block that does not parse is a note (pages hold pseudo-code and elided examples); doctest
    blocks are reported on but never rewritten."""
    page = pages.load(text, path)
    # The page's imports from other sections go last, as a snippet that is never reported on
    # nor rewritten (index 0 is no block's), so the section's rows stay where they are.
    frozen = page.report_only | {0}
    outcomes = [_analyse_joined({**parts, 0: page.imports_elsewhere(parts)}, path, job, frozen) for parts in page.sections()]
    fixed = page.with_sources({i: code for o in outcomes for i, code in o.sources.items()})
    result = FileResult(path, [], text, fixes_applied=sum(o.analysis.fixes_applied for o in outcomes))
    result.problems = [Problem(*pages.skipped_note(s, page), "note") for o in outcomes for s in o.skipped]
    result.fixed_source = fixed if job.fix else None
    fixed_page = pages.load(fixed, path) if fixed != text else page
    if len(fixed_page.blocks) != len(page.blocks):
        raise joined.JoinError("a fix changed where the page's code blocks begin or end (a fence in a string?); the page was left as it was")
    result.diagnostics = _reported(outcomes, fixed_page, frozen, original=False)
    if any(o.analysis.found is not None for o in outcomes):
        result.found = _reported(outcomes, page, frozen, original=True)
    return result


def _reported(outcomes: list[JoinedOutcome], page: pages.Page, frozen: frozenset[int], original: bool) -> list[Diagnostic]:
    """The findings in the page as it was (`original`) or as fixed. Those in the imports of other
    sections are theirs; those whose fix would edit a frozen snippet (a doctest, those imports)
    have no fix, as --fix leaves them."""
    reported = []
    for outcome in outcomes:
        analysis = outcome.analysis
        if original:
            module, diagnostics = outcome.module, analysis.diagnostics if analysis.found is None else analysis.found
        else:
            module, diagnostics = outcome.fixed_module, analysis.diagnostics
        for d in diagnostics:
            if joined.locate(module, d.location.row)[0] == 0:
                continue
            placed = joined.relocate(d, module, page.place, page.reindent)
            touches = any(joined.locate(module, e.location.row)[0] in frozen for e in d.edits)
            reported.append(joined.without_fix(placed) if touches else placed)
    return reported


@dataclass
class JoinedOutcome:
    module: str  # the module analysed, the snippets that parse joined
    analysis: Analysis
    fixed_module: str  # the module the diagnostics are in
    sources: dict[int, str]  # each analysed snippet's code, fixed
    skipped: list[joined.Skipped]


def _analyse_joined(parts: dict[int, str], path: Path, job: Job, frozen: frozenset[int] = frozenset()) -> JoinedOutcome:
    """The snippets analysed as one module, those that do not parse left out; no fix edits the
    snippets in `frozen`."""
    settings = job.settings_for(path)
    if frozen:
        settings = replace(settings, frozen=partial(joined.in_snippets, frozen))
    module, analysis, skipped = joined.analyse_parts(parts, lambda m: analyse(m, settings, fix=job.fix))
    kept = [i for i in parts if i not in {s.index for s in skipped}]
    fixed_module = analysis.fixed_source if job.fix else module
    return JoinedOutcome(module, analysis, fixed_module, joined.split(fixed_module, kept), skipped)


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
    stars = star_exports(index_texts)
    ignoring = key_ignoring_classes(text for _, text in index_texts)
    settings = replace(job.settings, project_module_classes=classes, project_jitted=jitted, project_star_exports=stars, project_key_ignoring=ignoring)
    job = replace(job, settings=settings)
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
            cache.put(keys[i], encode(result.diagnostics, result.error, result.cells, result.problems))
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
    problems = [Problem(**p) for p in entry.get("problems", ())]
    return FileResult(path, decode_diagnostics(entry), text, error=error, cells=decode_cells(entry), problems=problems)


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
        except (notebooks.NotebookError, joined.JoinError) as exc:
            result.error = Error(1, 1, str(exc))
        except (OSError, UnicodeEncodeError) as exc:
            result.error = Error(1, 1, f"cannot write noqa comments: {exc}")
        else:
            outcome.added += added
            outcome.refused += [(result, d) for d in refused]
    return outcome


def _with_noqa(result: FileResult, text: str) -> tuple[str, int, list[Diagnostic]]:
    """The new text, how many lines got a comment, and the findings none could be added for. A
    notebook's or page's comments go into its joined module, which is then written back."""
    module, row, write = _noqa_target(result, text)
    codes_by_row: dict[int, set[str]] = {}
    unplaced = []
    for d in result.diagnostics:
        at = row(d)
        if at is None:
            unplaced.append(d)
        else:
            codes_by_row.setdefault(at, set()).add(d.code)
    added = noqa.add_noqa(module, codes_by_row)
    refused = unplaced + [d for d in result.diagnostics if row(d) in added.refused]
    return (write(added.text) if added.added else text), added.added, refused


def _noqa_target(result: FileResult, text: str):
    """The module comments go into, the module row of a finding (None where no comment can go: a
    doctest), and how the commented module becomes the file's text."""
    if result.path.suffix == ".ipynb":
        notebook = notebooks.load(text)
        module = notebook.module
        return module, lambda d: joined.module_row(module, d.cell, d.location.row), notebook.with_module
    if pages.is_page(result.path):
        page = pages.load(text, result.path)
        module = joined.join(page.parts)

        def page_row(d: Diagnostic) -> int | None:
            at = page.block_at(d.location.row)
            return None if at is None or at[0] in page.report_only else joined.module_row(module, *at)

        return module, page_row, lambda fixed: page.with_sources(joined.split(fixed, list(page.parts)))
    return text, lambda d: d.location.row, lambda fixed: fixed
