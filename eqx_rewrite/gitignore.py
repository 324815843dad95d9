"""`.gitignore`, `.ignore` and `.git/info/exclude`, applied while walking folders as ruff applies them.

As ruff (through the `ignore` crate) does: `.gitignore` files and `.git/info/exclude` count only inside
a git repository (git itself reads them nowhere else), `.ignore` files count everywhere; the rules of
the folders above a walked folder count too, up to the repository's root (outside one: up to the
project root); a deeper folder's rules win over a shallower one's, `.ignore` over `.gitignore` in
one folder, and both over `.git/info/exclude`; a negation (`!`) re-includes; an ignored folder is
not entered, so nothing below it can be re-included (as in git).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path, PurePath

from pathspec.patterns.gitignore.spec import GitIgnoreSpecPattern

DIR_MARK = "ps_d"  # the regex group pathspec's gitignore patterns mark a folder's trailing `/` with
GIT_FILES = (".gitignore", ".ignore")  # in rising precedence within a folder
PLAIN_FILES = (".ignore",)


@dataclass(frozen=True)
class Level:
    base: PurePath  # the absolute folder the patterns are relative to
    patterns: tuple[GitIgnoreSpecPattern, ...]

    def verdict(self, relative: str) -> bool | None:
        """True: ignored, False: re-included by a negation, None: no pattern speaks of it.

        `relative` ends in `/` for a folder. A pattern counts only where it matches the path itself,
        not a folder above it (the walk has already left out ignored folders, and a folder named on
        the command line is walked even if ignored, as in ruff), and `d/**` matches what is inside
        `d`, not `d` (so `!d/keep.py` can bring a file back, as in git)."""
        for pattern in reversed(self.patterns):
            match = pattern.match_file(relative)
            if match is not None and _matches_itself(pattern, match.match.end(), len(relative)):
                return pattern.include
        return None


def _matches_itself(pattern: GitIgnoreSpecPattern, end: int, length: int) -> bool:
    # pathspec's regexes match a prefix: a folder (marked by a `ps_d` group) or, for `d/**`, `d/`.
    if pattern.pattern.rstrip().endswith("/**"):
        return end < length
    if DIR_MARK in pattern.regex.groupindex:
        return end == length
    return True  # `*`, `**`: anything


@dataclass(frozen=True)
class Ignores:
    """The ignore rules in force in one folder, lowest precedence first."""

    names: tuple[str, ...]  # the ignore files read in each folder
    levels: tuple[Level, ...] = ()

    def within(self, folder: PurePath, filenames: list[str] | set[str], problems: list[tuple[Path, str]]) -> Ignores:
        """The rules in force in `folder` (absolute), given the names of the files it holds."""
        levels = self.levels
        for name in self.names:
            if name in filenames:
                patterns = _read(Path(folder) / name, problems)
                if patterns:
                    levels += (Level(folder, patterns),)
        return Ignores(self.names, levels)

    def ignored(self, path: PurePath, is_dir: bool) -> bool:
        """Whether `path` (absolute, in or under the folder these rules are for) is ignored."""
        for level in reversed(self.levels):
            verdict = level.verdict(path.relative_to(level.base).as_posix() + ("/" if is_dir else ""))
            if verdict is not None:
                return verdict
        return False


NO_IGNORES = Ignores(names=())


def ignores_above(top: Path, root: Path, problems: list[tuple[Path, str]]) -> Ignores:
    """The rules in force at the walked folder `top` (absolute, links resolved) from the folders above
    it: its repository's `.git/info/exclude` and the ignore files between that repository's root and
    `top`. The walk adds `top`'s own."""
    repository = _repository(top)
    if repository is None:
        ignores, start = Ignores(PLAIN_FILES), root if top.is_relative_to(root) else top
    else:
        ignores, start = Ignores(GIT_FILES), repository
        exclude = _git_dir(repository) / "info" / "exclude"
        patterns = _read(exclude, problems) if exclude.is_file() else ()
        if patterns:
            ignores = Ignores(GIT_FILES, (Level(repository, patterns),))
    for folder in reversed(top.parents):
        if folder.is_relative_to(start):
            ignores = ignores.within(folder, _names(folder, ignores.names), problems)
    return ignores


def _names(folder: Path, names: tuple[str, ...]) -> set[str]:
    return {name for name in names if (folder / name).is_file()}


def _repository(folder: Path) -> Path | None:
    """The root of the git work tree `folder` is in: the nearest folder with a `.git` (a folder, or a
    file in worktrees and submodules)."""
    for candidate in (folder, *folder.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def _git_dir(repository: Path) -> Path:
    """Where `info/exclude` lives: `.git`, or for a worktree or submodule the git folder its `.git`
    file names (a worktree's shared one is its `commondir`)."""
    dot_git = repository / ".git"
    if dot_git.is_dir():
        return dot_git
    try:
        match = re.match(r"gitdir:\s*(.+)", dot_git.read_text(encoding="utf-8").strip())
        git_dir = (repository / match.group(1)) if match else dot_git
        common = git_dir / "commondir"
        return (git_dir / common.read_text(encoding="utf-8").strip()) if common.is_file() else git_dir
    except OSError:
        return dot_git


def _read(path: Path, problems: list[tuple[Path, str]]) -> tuple[GitIgnoreSpecPattern, ...]:
    try:
        lines = path.read_text(encoding="utf-8", errors="surrogateescape").splitlines()
    except OSError as exc:
        problems.append((path, f"cannot read ignore file: {(exc.strerror or str(exc)).lower()}"))
        return ()
    patterns = []
    for line in lines:
        try:
            pattern = GitIgnoreSpecPattern(line)
        except (ValueError, re.error):  # git skips a pattern it cannot read (`!` alone, `[z-a]`)
            continue
        if pattern.include is not None:  # None: a blank line or a comment
            patterns.append(pattern)
    return tuple(patterns)
