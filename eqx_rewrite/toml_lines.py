"""Which line of a TOML file defines a key: tomllib gives values, not positions, and an error must
point at the key the user wrote (not a same-named key of another table)."""

from __future__ import annotations

import json
import re

KEY_PART = re.compile(r"""\s*(?:"((?:[^"\\]|\\.)*)"|'([^']*)'|([A-Za-z0-9_-]+))\s*""")
HEADER = re.compile(r"\s*\[\[?")
MULTILINE_STRING = re.compile(r'"""|\'\'\'')


def key_line(text: str, path: tuple[str, ...]) -> int | None:
    """The 1-based line that defines `path` (table names, then the key, as tomllib nests them); else
    the line of the innermost table or inline table written around it; None when there is neither."""
    best: tuple[int, int] | None = None  # (how much of `path` the line names, line)
    table: tuple[str, ...] = ()
    for number, line in _logical_lines(text):
        header = HEADER.match(line)
        if header:
            keys, _ = _dotted_key(line, header.end())
            if keys is None:
                continue
            table = keys
            defined = keys
        else:
            keys, end = _dotted_key(line, 0)
            if keys is None or not line[end:].startswith("="):
                continue
            defined = table + keys
        if defined == path:
            return number
        if path[: len(defined)] == defined and (best is None or len(defined) > best[0]):
            best = (len(defined), number)
    return best[1] if best else None


def _logical_lines(text: str):
    """(line number, text) of each line that starts outside a multi-line string, array or inline
    table: only there can a table or a key begin."""
    in_string: str | None = None
    depth = 0
    for number, line in enumerate(text.splitlines(), start=1):
        starts_outside = in_string is None and depth == 0
        in_string, depth = _scan(line, in_string, depth)
        if starts_outside:
            yield number, line


def _scan(line: str, in_string: str | None, depth: int) -> tuple[str | None, int]:
    """The multi-line string and bracket depth still open after `line`."""
    i = 0
    while i < len(line):
        if in_string is not None:
            close = line.find(in_string, i)
            if close < 0:
                return in_string, depth
            in_string, i = None, close + 3
            continue
        char = line[i]
        if char == "#":
            break
        triple = MULTILINE_STRING.match(line, i)
        if triple:
            in_string, i = triple.group(), triple.end()
        elif char in "\"'":
            i = _string_end(line, i)
        else:
            # A table header's brackets close on its own line; a value's may not.
            depth += (char in "[{") - (char in "]}")
            i += 1
    return in_string, max(depth, 0)


def _string_end(line: str, start: int) -> int:
    quote, i = line[start], start + 1
    while i < len(line) and line[i] != quote:
        i += 2 if quote == '"' and line[i] == "\\" else 1
    return i + 1


def _dotted_key(line: str, start: int) -> tuple[tuple[str, ...] | None, int]:
    """The dotted key at `start` of `line` and where it ends (past the spaces after it)."""
    keys = []
    position = start
    while True:
        match = KEY_PART.match(line, position)
        if match is None or match.end() == position:
            return None, position
        basic, literal, bare = match.groups()
        keys.append(_unescape(basic) if basic is not None else literal if literal is not None else bare)
        position = match.end()
        if not line.startswith(".", position):
            return tuple(keys), position
        position += 1


def _unescape(basic: str) -> str:
    try:
        return json.loads(f'"{basic}"')
    except ValueError:  # an escape TOML has and JSON lacks (\U0001F600): near enough for a position
        return basic
