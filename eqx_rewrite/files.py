"""Finding files, reading them faithfully, and writing them back atomically."""

from __future__ import annotations

import fnmatch
import io
import os
import re
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterable, Iterator

from .gitignore import NO_IGNORES, Ignores, ignores_above

SUFFIXES = (".py", ".ipynb")
DOC_SUFFIXES = (".md", ".rst")  # documentation pages, whose Python code blocks are found with doc-blocks
SKIPPED_DIRS = frozenset(
    {
        ".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "build", "dist", "__pycache__",
        ".mypy_cache", ".pytest_cache", ".ruff_cache", ".eggs", "node_modules", "site-packages",
        ".eqx_rewrite_cache", ".ipynb_checkpoints",
    }
)


class FileError(Exception):
    """A file that cannot be read, decoded or written: reported as `path:row:col: error: ...`."""

    def __init__(self, message: str, row: int = 1, col: int = 1):
        super().__init__(message)
        self.message, self.row, self.col = message, row, col


@dataclass(frozen=True)
class SourceFile:
    path: Path
    text: str
    encoding: str
    raw: bytes
    mode: int


# --- discovery -----------------------------------------------------------------------------------
@dataclass
class Discovery:
    files: list[Path]
    problems: list[tuple[Path, str]]  # paths that could not be walked or do not exist, and why


def discover(
    paths: Iterable[Path],
    exclude: Iterable[str],
    root: Path,
    force_exclude: bool = False,
    respect_gitignore: bool = True,
    doc_blocks: bool = False,
) -> Discovery:
    """Python files under `paths`, and documentation pages with `doc_blocks`. Files named explicitly are included even when excluded, as in ruff,
    unless `force_exclude` (pre-commit names every staged file); ignore files (`.gitignore`...) apply
    to what the walk finds, never to a path named explicitly, as in ruff. Nothing found on the way
    stops the walk: a missing path, a symlink loop or an unreadable folder is a problem, and the rest
    is found."""
    patterns = tuple(exclude)
    found = Discovery([], [])
    seen: set[Path] = set()
    for path in paths:
        if path.is_file():
            candidates: Iterable[Path] = [] if force_exclude and excluded(path, patterns, root) else [path]
        elif path.is_dir():
            top = resolved_path(path)
            ignores = ignores_above(top, resolved_path(root), found.problems) if respect_gitignore else NO_IGNORES
            suffixes = SUFFIXES + DOC_SUFFIXES if doc_blocks else SUFFIXES
            candidates = _walk(path, top, patterns, root, ignores, found.problems, suffixes)
        else:
            found.problems.append((path, _missing(path)))
            continue
        for candidate in candidates:
            resolved = resolved_path(candidate)
            if resolved not in seen:
                seen.add(resolved)
                found.files.append(candidate)
    return found


def resolved_path(path: Path) -> Path:
    """`path` made absolute with its links followed, as far as they lead (a loop is left as it is)."""
    try:
        return path.resolve()
    except (OSError, RuntimeError):  # RuntimeError: a symlink loop, before Python 3.13
        return path.absolute()


def _missing(path: Path) -> str:
    try:
        os.stat(path)
    except OSError as exc:
        return (exc.strerror or str(exc)).lower()
    return "not a file or directory"


def _walk(
    top: Path,
    top_resolved: Path,
    patterns: tuple[str, ...],
    root: Path,
    ignores: Ignores,
    problems: list[tuple[Path, str]],
    suffixes: tuple[str, ...],
) -> Iterator[Path]:
    """`top_resolved`: where ignore files' patterns are anchored; `ignores`: the rules from above it."""

    def unreadable(exc: OSError) -> None:
        problems.append((Path(exc.filename or top), f"cannot read directory: {(exc.strerror or str(exc)).lower()}"))

    in_force = {os.fspath(top): ignores}
    # Links to folders are not followed (os.walk's default), so a link back up cannot loop.
    for dirpath, dirnames, filenames in os.walk(top, onerror=unreadable):
        here = Path(dirpath)
        absolute = top_resolved / here.relative_to(top)
        rules = in_force.pop(dirpath).within(absolute, filenames, problems)
        dirnames[:] = sorted(
            d
            for d in dirnames
            if not _skipped_dir(here / d) and not excluded(here / d, patterns, root) and not rules.ignored(absolute / d, True)
        )
        in_force.update((os.path.join(dirpath, d), rules) for d in dirnames)
        for name in sorted(filenames):
            path = here / name
            # A dangling link is no file of the tree (editors' lock files `.#m.py` are such links).
            if (
                name.endswith(suffixes)
                and not excluded(path, patterns, root)
                and not rules.ignored(absolute / name, False)
                and (path.exists() or not path.is_symlink())
            ):
                yield path


def _skipped_dir(path: Path) -> bool:
    if path.name in SKIPPED_DIRS:
        return True
    try:
        return (path / "pyvenv.cfg").exists()
    except OSError:  # unreadable: os.walk reports it when it tries to enter
        return False


def excluded(path: Path, patterns: Iterable[str], root: Path) -> bool:
    """gitignore-like matching: a pattern matches the path relative to the root, or any component."""
    try:
        relative = resolved_path(path).relative_to(resolved_path(root)).as_posix()
    except ValueError:
        relative = path.as_posix()
    for pattern in patterns:
        pattern = pattern.rstrip("/")
        if fnmatch.fnmatch(relative, pattern) or fnmatch.fnmatch(relative, pattern + "/*"):
            return True
        if "/" not in pattern and any(fnmatch.fnmatch(part, pattern) for part in Path(relative).parts):
            return True
    return False


# --- reading -------------------------------------------------------------------------------------
def read_source(path: Path) -> SourceFile:
    try:
        raw = path.read_bytes()
        mode = path.stat().st_mode
    except OSError as exc:
        raise FileError(f"cannot read file: {exc.strerror or exc}") from None
    return SourceFile(path, *decode(raw), raw, mode)


def decode(raw: bytes) -> tuple[str, str]:
    """The text and its encoding (PEP 263 declaration, else UTF-8; a BOM is kept as utf-8-sig)."""
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(raw).readline)
    except SyntaxError as exc:
        raise FileError(f"invalid encoding declaration: {exc}", _declaration_row(raw)) from None
    try:
        return raw.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        row = _line_of(raw, exc.start)
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FileError(f"file is not valid {encoding}: {exc.reason}", row, col) from None
    except LookupError:
        raise FileError(f"unknown encoding {encoding!r}") from None


# PEP 263's declaration, as tokenize matches it.
CODING = re.compile(rb"^[ \t\f]*#.*?coding[:=][ \t]*([-\w.]+)")


def _declaration_row(raw: bytes) -> int:
    """The line (1 or 2) where encoding detection failed: the declaration, or the line that is not
    UTF-8 before any declaration."""
    for row, line in enumerate(raw.removeprefix(b"\xef\xbb\xbf").split(b"\n")[:2], start=1):
        try:
            line.decode("utf-8")
        except UnicodeDecodeError:
            return row
        if CODING.match(line):
            return row
    return 1


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


# --- writing -------------------------------------------------------------------------------------
def write_atomic(original: SourceFile, new_text: str) -> None:
    """Replace the file with `new_text` in its own encoding, or raise and leave it untouched.

    The text goes to a temporary file in the same folder, which is then renamed over the original, so
    a crash leaves either the old file or the new one. A file that changed since it was read, or that
    is read-only, is not written.
    """
    # Through a symlink the real file is written and the link kept, as ruff and black do.
    path = resolved_path(original.path) if original.path.is_symlink() else original.path
    data = new_text.encode(original.encoding)
    _ensure_unchanged(original)
    # Renaming over a file would succeed where writing it would not: ask the OS as a write would.
    # (As root every file is writable, read-only ones included: the OS says yes, and so do we, as
    # black and ruff do.)
    if not os.access(path, os.W_OK):
        raise FileError("file is read-only; not written")
    _replace(path, data, stat.S_IMODE(original.mode), lambda: _ensure_unchanged(original))


def write_new_atomic(path: Path, text: str) -> None:
    """Create or replace a file of ours (a report), atomically, with the permissions a new file gets."""
    path.parent.mkdir(parents=True, exist_ok=True)
    umask = os.umask(0)
    os.umask(umask)
    _replace(path, text.encode("utf-8"), 0o666 & ~umask, lambda: None)


def _replace(path: Path, data: bytes, mode: int, before_rename: Callable[[], None]) -> None:
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".eqx-rewrite.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, mode)
        before_rename()
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise


def _ensure_unchanged(original: SourceFile) -> None:
    try:
        current = original.path.read_bytes()
    except OSError as exc:
        raise FileError(f"cannot re-read file before writing: {exc.strerror or exc}") from None
    if current != original.raw:
        raise FileError("file changed on disk while it was being fixed; fixes not written")
