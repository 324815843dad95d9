"""Snippets of one file (a notebook's code cells, a page's code blocks) analysed as one module: each
snippet follows a marker comment naming it, so rows of the module, fixed or not, map back to it.

Snippets build on each other (a model defined in one, trained in the next), which is why they are
one module rather than each analysed alone."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Callable, Mapping, TypeVar

from .engine import Diagnostic, LocatedEdit, ParseError, Position

MARKER = "# __eqx_rewrite_part_{}__"
MARKER_LINE = re.compile(r"^# __eqx_rewrite_part_(\d+)__$", re.MULTILINE)

# How rules' messages name another line of the module, which is to be named in the file's terms.
LINE_REFERENCE = re.compile(r"\bline (\d+)\b")

T = TypeVar("T")
# (snippet index, row in the snippet, column in the snippet) -> (cell or None, row, column) to report
Place = Callable[[int, int, int], tuple["int | None", int, int]]
Reindent = Callable[[int, LocatedEdit, LocatedEdit], LocatedEdit]


class JoinError(Exception):
    """A fixed module that no longer splits into the snippets it was joined from."""


@dataclass(frozen=True)
class Skipped:
    """A snippet left out of the analysis because it does not parse."""

    index: int
    row: int  # in the snippet
    col: int
    message: str


def join(parts: Mapping[int, str]) -> str:
    lines: list[str] = []
    for index, code in parts.items():
        lines.append(MARKER.format(index))
        lines.extend(code.split("\n"))
    return "\n".join(lines) + "\n"


def split(module: str, indices: list[int]) -> dict[int, str]:
    """The snippets of a (fixed) module joined from snippets `indices`."""
    pieces = MARKER_LINE.split(module)
    if [int(i) for i in pieces[1::2]] != indices or pieces[0].strip():
        raise JoinError("a fix moved code from one snippet to another")
    sources = {}
    for index, text in zip(indices, pieces[2::2]):
        # Each snippet's code sits between its marker's newline and the newline joining the next.
        body = text[1:] if text.startswith("\n") else text
        sources[index] = body[:-1] if body.endswith("\n") else body
    return sources


def locate(module: str, row: int) -> tuple[int, int]:
    """(snippet index, row within the snippet) of a row of a joined module, fixed or not."""
    best = (0, row)
    for match in MARKER_LINE.finditer(module):
        marker_row = module.count("\n", 0, match.start()) + 1
        if marker_row >= row:
            break
        best = (int(match.group(1)), row - marker_row)
    return best


def module_row(module: str, index: int, row: int) -> int:
    """The inverse of `locate`: the row of the joined module that a snippet's row is."""
    marker = module.index(MARKER.format(index) + "\n")
    return module.count("\n", 0, marker) + 1 + row


def analyse_parts(parts: Mapping[int, str], analyse: Callable[[str], T]) -> tuple[str, T, list[Skipped]]:
    """`analyse` run on the joined module; a snippet that does not parse is left out and the rest
    analysed again, so one pasted repr or pseudo-code block does not hide every other finding.
    Returns the module analysed, the analysis and the snippets left out."""
    kept = dict(parts)
    skipped: list[Skipped] = []
    while True:
        module = join(kept)
        try:
            return module, analyse(module), skipped
        except ParseError as exc:
            index, row = locate(module, exc.row)
            if index not in kept:
                raise
            skipped.append(Skipped(index, max(row, 1), exc.col, exc.message))
            del kept[index]


def in_snippets(indices: frozenset[int], module: str, offset: int) -> bool:
    """Whether an offset of a joined module lies in one of the snippets `indices` (0: before the
    first marker); with `functools.partial`, the engine's `Settings.frozen`."""
    return locate(module, module.count("\n", 0, offset) + 1)[0] in indices


def relocate(d: Diagnostic, module: str, place: Place, reindent: Reindent | None = None) -> Diagnostic:
    """A diagnostic of the joined module, with its edits, in the coordinates `place` gives;
    `reindent`: (snippet, edit, edit placed) -> the edit as it applies to the file, for snippets
    that sit indented there."""

    def edit(e: LocatedEdit) -> LocatedEdit:
        placed = replace(e, location=where(e.location)[1], end_location=where(e.end_location)[1])
        index = locate(module, e.location.row)[0]
        return reindent(index, e, placed) if reindent is not None and index else placed

    def where(p: Position) -> tuple[int | None, Position]:
        index, row = locate(module, p.row)
        cell, row, col = place(index, row, p.col)
        return cell, Position(row, col)

    def reference(match: re.Match) -> str:
        index, row = locate(module, int(match[1]))
        if index == 0:
            return match[0]
        cell, row, _ = place(index, row, 1)
        return f"cell {cell}, line {row}" if cell is not None else f"line {row}"

    def message(text: str | None) -> str | None:
        return LINE_REFERENCE.sub(reference, text) if text is not None else None

    cell, start = where(d.location)
    _, end = where(d.end_location)
    edits = tuple(edit(e) for e in d.edits)
    placed = replace(d, location=start, end_location=end, edits=edits, cell=cell)
    return replace(placed, message=message(d.message), fix_message=message(d.fix_message))


def without_fix(d: Diagnostic) -> Diagnostic:
    """For snippets that are reported on but never rewritten."""
    return replace(d, fix_safety=None, fix_message=None, edits=())
