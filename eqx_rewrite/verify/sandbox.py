"""Temporary copies of the project tree, and the subprocesses that run in them."""

from __future__ import annotations

import contextlib
import os
import pickle
import shutil
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Iterator

CHILD = Path(__file__).with_name("child.py")
# Never copied: version control, environments and caches are large and no entry should need them.
SKIPPED_DIRS = {".git", ".hg", ".svn", ".venv", "venv", ".tox", ".nox", "__pycache__", ".eqx_rewrite_cache",
                ".mypy_cache", ".pytest_cache", ".ruff_cache", ".ipynb_checkpoints", "node_modules"}
OUTPUT_TAIL_LINES = 12
# Each side gets its own copy: past this, the project root is probably not the project.
MAX_TREE_BYTES = 2 * 1024**3


class SandboxError(Exception):
    """The tree cannot be copied: too large, or unreadable."""


@dataclass
class Observation:
    """What one entry (or the verify command) did on one side."""

    ok: bool
    error: str = ""  # the last lines of the traceback or output, when not ok
    leaves: list = field(default_factory=list)
    first: dict[str, float] = field(default_factory=dict)  # wall, compile, trace seconds of the first call
    second: dict[str, float] = field(default_factory=dict)
    files: list[str] = field(default_factory=list)  # project files it imported, relative to the tree


class Sandbox:
    """A pristine copy of the tree, from which each side gets its own copy with fixed files swapped in."""

    def __init__(self, root: Path, environment: dict[str, str], timeout: float):
        self.environment = environment
        self.timeout = timeout
        size = _tree_bytes(root)
        if size > MAX_TREE_BYTES:
            raise SandboxError(f"the project root {root} holds {size / 1024**3:.1f} GB outside version control and caches; "
                               "--verify copies it for each side: run it from the project's own folder")
        self._tmp = tempfile.TemporaryDirectory(prefix="eqx-rewrite-verify-")
        self.base = Path(self._tmp.name) / "base"
        try:
            shutil.copytree(root, self.base, ignore=_skipped, symlinks=True)
        except (OSError, shutil.Error) as exc:
            self._tmp.cleanup()
            raise SandboxError(f"cannot copy the project root {root} for --verify: {_first_error(exc)}") from None
        self._count = 0

    def __enter__(self) -> Sandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self._tmp.cleanup()

    @contextlib.contextmanager
    def tree(self, swaps: dict[str, bytes]) -> Iterator[Path]:
        """A fresh copy of the tree with `swaps` (relative path -> content) written in. It is removed
        once its runs are over: the search for a responsible fix makes one per attempt."""
        self._count += 1
        tree = Path(self._tmp.name) / f"tree{self._count}"
        shutil.copytree(self.base, tree, symlinks=True)
        try:
            for relative, content in swaps.items():
                (tree / relative).write_bytes(content)
            yield tree
        finally:
            shutil.rmtree(tree, ignore_errors=True)

    def run_entry(self, tree: Path, file: str, func: str) -> Observation:
        out = tree.parent / f"{tree.name}-{func}.pickle"
        code, tail = _run([sys.executable, str(CHILD), str(tree), file, func, str(out)], tree, self._env(tree), self.timeout)
        if code is None:
            return Observation(False, f"timed out after {self.timeout:g} s\n{tail}".rstrip())
        if not out.is_file():
            return Observation(False, f"the entry's process exited with code {code} before reporting\n{tail}".rstrip())
        with out.open("rb") as handle:
            report = pickle.load(handle)
        out.unlink()
        if not report["ok"]:
            return Observation(False, _tail(report["error"]), files=report["files"])
        return Observation(True, "", report["leaves"], report["first"], report["second"], report["files"])

    def run_command(self, tree: Path, command: str) -> Observation:
        code, tail = _run(command, tree, self._env(tree), self.timeout, shell=True)
        if code is None:
            return Observation(False, f"timed out after {self.timeout:g} s\n{tail}".rstrip())
        return Observation(code == 0, "" if code == 0 else f"exited with code {code}\n{tail}".rstrip())

    def _env(self, tree: Path) -> dict[str, str]:
        # The copy comes first on the path, so the fixed files are the ones imported, not the originals.
        paths = [str(tree / "src")] if (tree / "src").is_dir() else []
        return {**self.environment, "PYTHONPATH": os.pathsep.join([str(tree), *paths])}


def _tree_bytes(root: Path) -> int:
    total = 0
    for folder, dirs, files in os.walk(root):
        dirs[:] = [d for d in dirs if d not in _skipped(folder, dirs)]
        for name in files:
            try:
                total += os.lstat(os.path.join(folder, name)).st_size
            except OSError:
                continue
    return total


def _first_error(exc: OSError | shutil.Error) -> str:
    if isinstance(exc, shutil.Error) and exc.args and isinstance(exc.args[0], list) and exc.args[0]:
        source, _, why = exc.args[0][0]
        return f"{source}: {why}"
    return str(exc)


def _skipped(folder: str, names: list[str]) -> set[str]:
    return {n for n in names if n in SKIPPED_DIRS or n.endswith(".egg-info")}


def _run(args: list[str] | str, cwd: Path, env: dict[str, str], timeout: float, shell: bool = False) -> tuple[int | None, str]:
    """(exit code or None on time-out, the output's last lines); the whole process group dies on time-out."""
    with subprocess.Popen(args, cwd=cwd, env=env, shell=shell, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          stdin=subprocess.DEVNULL, start_new_session=True) as process:
        try:
            output, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            output, _ = process.communicate()
            return None, _tail(output.decode("utf-8", "replace"))
    return process.returncode, _tail(output.decode("utf-8", "replace"))


def _tail(text: str) -> str:
    return "\n".join(text.rstrip().splitlines()[-OUTPUT_TAIL_LINES:])
