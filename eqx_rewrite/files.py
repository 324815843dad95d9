"""Finding files, reading them faithfully, and writing them back atomically."""

from __future__ import annotations

import fnmatch
import io
import os
import stat
import tempfile
import tokenize
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

SUFFIXES = (".py", ".ipynb")
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
def discover(paths: Iterable[Path], exclude: Iterable[str], root: Path) -> Iterator[Path]:
    """Python files under `paths`; files named explicitly are always included, as in ruff."""
    patterns = tuple(exclude)
    seen: set[Path] = set()
    for path in paths:
        if path.is_file():
            candidates: Iterable[Path] = [path]
        elif path.is_dir():
            candidates = _walk(path, patterns, root)
        else:
            raise FileError(f"{path}: no such file or directory")
        for candidate in candidates:
            resolved = candidate.resolve()
            if resolved not in seen:
                seen.add(resolved)
                yield candidate


def _walk(top: Path, patterns: tuple[str, ...], root: Path) -> Iterator[Path]:
    for dirpath, dirnames, filenames in os.walk(top):
        here = Path(dirpath)
        dirnames[:] = sorted(
            d for d in dirnames if not _skipped_dir(here / d) and not excluded(here / d, patterns, root)
        )
        for name in sorted(filenames):
            path = here / name
            if name.endswith(SUFFIXES) and not excluded(path, patterns, root):
                yield path


def _skipped_dir(path: Path) -> bool:
    return path.name in SKIPPED_DIRS or (path / "pyvenv.cfg").exists()


def excluded(path: Path, patterns: Iterable[str], root: Path) -> bool:
    """gitignore-like matching: a pattern matches the path relative to the root, or any component."""
    try:
        relative = path.resolve().relative_to(root.resolve()).as_posix()
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
        raise FileError(f"invalid encoding declaration: {exc}", _line_of(raw, len(raw))) from None
    try:
        return raw.decode(encoding), encoding
    except UnicodeDecodeError as exc:
        row = _line_of(raw, exc.start)
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        raise FileError(f"file is not valid {encoding}: {exc.reason}", row, col) from None
    except LookupError:
        raise FileError(f"unknown encoding {encoding!r}") from None


def _line_of(raw: bytes, offset: int) -> int:
    return raw.count(b"\n", 0, offset) + 1


# --- writing -------------------------------------------------------------------------------------
def write_atomic(original: SourceFile, new_text: str) -> None:
    """Replace the file with `new_text` in its own encoding, or raise and leave it untouched.

    The text goes to a temporary file in the same folder, which is then renamed over the original, so
    a crash leaves either the old file or the new one. A file that changed since it was read, or that
    is read-only, is not written.
    """
    path = original.path
    data = new_text.encode(original.encoding)
    _ensure_unchanged(original)
    # Renaming over a file would succeed where writing it would not: ask the OS as a write would.
    if not os.access(path, os.W_OK):
        raise FileError("file is read-only; fixes not written")
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".eqx-rewrite.tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(tmp, stat.S_IMODE(original.mode))
        _ensure_unchanged(original)
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
