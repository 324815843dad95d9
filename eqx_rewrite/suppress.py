"""Suppression comments: `# noqa`, `# noqa: EQX001`, `# eqx-rewrite: ignore[EQX001]`, skip-file."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field

NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:[\s,]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)
IGNORE = re.compile(r"#\s*eqx-rewrite:\s*ignore(?:\[(?P<codes>[^\]]*)\])?")
SKIP_FILE = re.compile(r"^[ \t]*#\s*eqx-rewrite:\s*skip-file\b", re.MULTILINE)
ALL = "*"


def skips_file(source: str) -> bool:
    return SKIP_FILE.search(source) is not None


@dataclass
class Suppressions:
    """The codes suppressed on each line (1-based); ALL stands for every code."""

    by_line: dict[int, set[str]] = field(default_factory=dict)

    @classmethod
    def from_source(cls, source: str) -> Suppressions:
        result = cls()
        for row, comment in _comments(source):
            for pattern in (NOQA, IGNORE):
                match = pattern.search(comment)
                if match:
                    codes = match.group("codes")
                    parsed = {c.upper() for c in re.split(r"[\s,]+", codes) if c} if codes else {ALL}
                    result.by_line.setdefault(row, set()).update(parsed)
        return result

    def suppresses(self, row: int, code: str) -> bool:
        codes = self.by_line.get(row, ())
        return ALL in codes or any(code.startswith(c) for c in codes)


def _comments(source: str):
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source).readline):
            if tok.type == tokenize.COMMENT:
                yield tok.start[0], tok.string
    except (tokenize.TokenError, SyntaxError):
        # The engine only asks about files libcst parsed; tokenize may still disagree at the very
        # end of odd files. The comments read so far stand.
        return
