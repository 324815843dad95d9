"""Findings of unchanged files, keyed by the tool's code, settings and content; only for --check.

One small JSON file per key, written to a temporary file and renamed into place, so concurrent runs
never see a partial entry; an entry that cannot be read is a miss. Fixes always recompute.

Entries live in a folder per tool version and code, so that a run which writes can drop every other
version's folder; entries of its own version not read for MAX_AGE_S are dropped too (a hit renews an
entry at most once a day). Pruning runs at most once every PRUNE_EVERY_S, so warm runs stay cheap.
"""

from __future__ import annotations

import functools
import hashlib
import json
import os
import shutil
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from . import __version__
from .engine import Diagnostic, LocatedEdit, Position, Settings

DIRECTORY = ".eqx_rewrite_cache"
DAY_S = 24 * 3600
MAX_AGE_S = 30 * DAY_S
PRUNE_EVERY_S = DAY_S
PRUNED_MARKER = "last-pruned"


@functools.lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """A hash of eqx-rewrite's own sources: an edited or git-installed tool between two releases
    has the same version but may find other things, and must not read its older self's entries."""
    package = Path(__file__).resolve().parent
    digest = hashlib.sha256()
    for path in sorted(package.rglob("*.py")):
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def fingerprint(settings: Settings) -> str:
    """Everything in the settings that can change a file's findings, in a stable order."""
    data = {
        "version": __version__,
        "code": code_fingerprint(),
        "select": settings.selection.select,
        "ignore": settings.selection.ignore,
        "options": {code: dict(sorted(o.items())) for code, o in sorted(settings.rule_options.items())},
        "module_classes": sorted(settings.project_module_classes),
        "jitted": sorted(settings.project_jitted),
        "star_exports": sorted(settings.project_star_exports),
        "key_ignoring": sorted(settings.project_key_ignoring),
        "line_length": settings.line_length,
        "target_version": settings.target_version,
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def version_folder() -> str:
    return f"{__version__}-{code_fingerprint()[:16]}"


class Cache:
    def __init__(self, root: Path):
        self.directory = root / DIRECTORY
        self.entries = self.directory / version_folder()
        self._pruned = False

    def key(self, settings_fingerprint: str, suffix: str, raw: bytes) -> str:
        digest = hashlib.sha256(settings_fingerprint.encode() + b"\0" + suffix.encode() + b"\0")
        digest.update(raw)
        return digest.hexdigest()

    def get(self, key: str) -> dict | None:
        path = self._path(key)
        try:
            with open(path, encoding="utf-8") as handle:
                entry = json.load(handle)
                if time.time() - os.fstat(handle.fileno()).st_mtime > DAY_S:
                    os.utime(path)  # still in use: not to be pruned as old
        except (OSError, ValueError):
            return None
        return entry if isinstance(entry, dict) else None

    def put(self, key: str, entry: dict) -> None:
        """Best effort: a cache that cannot be written only makes the next run slower."""
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._ignore_in_git()
            fd, tmp = tempfile.mkstemp(dir=path.parent, suffix=".tmp")
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(entry, handle)
            os.replace(tmp, path)
            self._prune()
        except OSError:
            pass

    def clear(self) -> bool:
        """Remove the whole cache, every version's; whether there was one."""
        if self.directory.is_symlink():
            self.directory.unlink()
            return True
        if not self.directory.exists():
            return False
        shutil.rmtree(self.directory)
        return True

    def _prune(self) -> None:
        if self._pruned:
            return
        self._pruned = True
        marker = self.directory / PRUNED_MARKER
        now = time.time()
        try:
            if now - marker.stat().st_mtime < PRUNE_EVERY_S:
                return
        except FileNotFoundError:
            pass
        for child in self.directory.iterdir():
            if child.is_dir() and not child.is_symlink() and child != self.entries:
                shutil.rmtree(child, ignore_errors=True)  # another version's, or the layout before folders
        for entry in self.entries.glob("*/*"):
            # Temporary files left by a killed run are old too.
            if now - entry.stat().st_mtime > MAX_AGE_S:
                entry.unlink(missing_ok=True)
        marker.touch()

    def _path(self, key: str) -> Path:
        return self.entries / key[:2] / f"{key}.json"

    def _ignore_in_git(self) -> None:
        marker = self.directory / ".gitignore"
        if not marker.exists():
            marker.write_text("# Created by eqx-rewrite.\n*\n")


def encode(diagnostics: list[Diagnostic], error, cells: dict[int, str] | None, problems=()) -> dict:
    """`problems`: the parts of the file left out (a cell or block that does not parse), which a
    cached run must print as the first run did."""
    return {
        "diagnostics": [asdict(d) for d in diagnostics],
        "error": asdict(error) if error is not None else None,
        "cells": {str(k): v for k, v in cells.items()} if cells is not None else None,
        "problems": [asdict(p) for p in problems],
    }


def decode_diagnostics(entry: dict) -> list[Diagnostic]:
    result = []
    for d in entry["diagnostics"]:
        edits = tuple(
            LocatedEdit(e["content"], Position(**e["location"]), Position(**e["end_location"])) for e in d["edits"]
        )
        result.append(
            Diagnostic(
                **{k: v for k, v in d.items() if k not in ("location", "end_location", "edits")},
                location=Position(**d["location"]),
                end_location=Position(**d["end_location"]),
                edits=edits,
            )
        )
    return result


def decode_cells(entry: dict) -> dict[int, str] | None:
    cells = entry.get("cells")
    return {int(k): v for k, v in cells.items()} if cells is not None else None
