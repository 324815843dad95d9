"""`--add-noqa`: a `# noqa: CODE` comment on every line with a finding, so a project can adopt the
tool with its existing findings as a baseline. Only the comments change; each line keeps its newline."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

from .suppress import NOQA, Suppressions

LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)?")
# Multi-line string tokens: the rows they start on (and all but their last) end inside the string.
_FSTRING_START = getattr(tokenize, "FSTRING_START", None)
_FSTRING_END = getattr(tokenize, "FSTRING_END", None)


@dataclass
class Added:
    text: str
    added: int = 0  # lines that got a new or longer noqa comment
    refused: list[int] = field(default_factory=list)  # rows where no comment can go (inside a string)


def add_noqa(source: str, codes_by_row: dict[int, set[str]]) -> Added:
    """`source` with every row of `codes_by_row` suppressing its codes the way suppress.py reads it."""
    lines = LINE.findall(source)[:-1]  # the pattern also matches the empty end
    comments, blocked = _comments_and_blocked_rows(source, lines)
    result = Added(source)
    changed: dict[int, str] = {}
    for row, codes in sorted(codes_by_row.items()):
        if row in blocked or not 0 < row <= len(lines):
            result.refused.append(row)
            continue
        changed[row] = _with_codes(lines[row - 1], comments.get(row), codes)
    text = _join(lines, changed)
    # Each row must now suppress what it was meant to; one that does not is left as it was.
    suppressions = Suppressions.from_source(text)
    failed = [row for row in changed if not all(suppressions.suppresses(row, c) for c in codes_by_row[row])]
    for row in failed:
        del changed[row]
        result.refused.append(row)
    result.text = _join(lines, changed) if failed else text
    result.added = sum(1 for row, line in changed.items() if line != lines[row - 1])
    result.refused.sort()
    return result


def _join(lines: list[str], changed: dict[int, str]) -> str:
    return "".join(changed.get(row, line) for row, line in enumerate(lines, start=1))


def _with_codes(line: str, comment: tokenize.TokenInfo | None, codes: set[str]) -> str:
    body = line.rstrip("\r\n")
    newline = line[len(body):]
    match = NOQA.search(comment.string) if comment is not None else None
    if match is not None and match.group("codes"):
        present = {c.upper() for c in re.split(r"[\s,]+", match.group("codes")) if c}
        missing = sorted(c for c in codes if not any(c.startswith(p) for p in present))
        if not missing:
            return line
        # The codes go after the comment's own, in ruff's `# noqa: A1, B2` form.
        at = comment.start[1] + match.end("codes")
        return body[:at] + "".join(f", {c}" for c in missing) + body[at:] + newline
    return body.rstrip(" \t") + "  # noqa: " + ", ".join(sorted(codes)) + newline


def _comments_and_blocked_rows(source: str, lines: list[str]) -> tuple[dict[int, tokenize.TokenInfo], set[int]]:
    """Each row's comment token, and the rows whose end lies inside a string or a backslash
    continuation, where a comment cannot go."""
    comments: dict[int, tokenize.TokenInfo] = {}
    blocked: set[int] = set()
    fstring_starts: list[int] = []
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                comments[tok.start[0]] = tok
            elif tok.type == tokenize.STRING:
                blocked.update(range(tok.start[0], tok.end[0]))
            elif tok.type == _FSTRING_START:
                fstring_starts.append(tok.start[0])
            elif tok.type == _FSTRING_END and fstring_starts:
                blocked.update(range(fstring_starts.pop(), tok.end[0]))
    except (tokenize.TokenError, SyntaxError):
        pass  # as suppress.py: the comments read so far stand; the check after adding catches the rest
    for row, line in enumerate(lines, start=1):
        if line.rstrip("\r\n").endswith("\\") and row not in comments:
            blocked.add(row)
    return comments, blocked
