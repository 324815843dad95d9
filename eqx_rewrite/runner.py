"""Files -> engine -> results, in a process pool when there are many; writes with --fix."""

from __future__ import annotations

import os
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

from .engine import Diagnostic, InternalError, ParseError, Settings, analyse
from .project import module_class_names
from .files import FileError, SourceFile, excluded, read_source, write_atomic
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

    @property
    def changed(self) -> bool:
        return self.fixed_source is not None and self.fixed_source != self.source


def analyse_text(text: str, path: Path, job: Job) -> FileResult:
    """Never raises for bad input or a bug of ours: either becomes the result's `error`."""
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


def analyse_path(path: Path, job: Job) -> FileResult:
    try:
        original = read_source(path)
    except FileError as exc:
        return FileResult(path, [], error=Error(exc.row, exc.col, exc.message))
    result = analyse_text(original.text, path, job)
    result.original = original
    return result


def run(paths: list[Path], job: Job, jobs: int | None = None) -> list[FileResult]:
    job = replace(job, settings=replace(job.settings, project_module_classes=_project_classes(paths)))
    workers = min(jobs or os.cpu_count() or 1, len(paths))
    if workers <= 1 or len(paths) < POOL_THRESHOLD:
        return [analyse_path(p, job) for p in paths]
    chunksize = max(1, len(paths) // (workers * 8))
    with ProcessPoolExecutor(max_workers=workers) as pool:
        return list(pool.map(_analyse_path_star, [(p, job) for p in paths], chunksize=chunksize))


def _project_classes(paths: list[Path]) -> frozenset[str]:
    texts = []
    for path in paths:
        try:
            texts.append(path.read_text(encoding="utf-8", errors="replace"))
        except OSError:
            continue  # reported when the file itself is analysed
    return module_class_names(texts)


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
            _unfixed(result, Error(exc.row, exc.col, exc.message))
        except (OSError, UnicodeEncodeError) as exc:
            _unfixed(result, Error(1, 1, f"cannot write fixes: {exc}"))


def _unfixed(result: FileResult, error: Error) -> None:
    """The file kept its original text, so its original findings are the ones that stand."""
    result.error = error
    result.diagnostics = result.found or result.diagnostics
    result.fixed_source = None
    result.fixes_applied = 0
