"""Python code blocks of documentation pages (Markdown and reStructuredText): found, a section's
blocks analysed together as one module, positions mapped to the page's own lines, and fixes written
back into the changed blocks only, re-indented, everything else byte for byte."""

from __future__ import annotations

import ast
import difflib
import re
from dataclasses import dataclass, replace
from pathlib import Path

from . import joined
from .engine import LocatedEdit, Position
from .files import DOC_SUFFIXES

MARKDOWN_LANGUAGES = frozenset({"python", "py", "python3", "pycon", "ipython", "ipython3"})
RST_LANGUAGES = frozenset({"python", "py", "python3", "pycon"})

FENCE = re.compile(r"^(?P<indent>[ \t]*)(?P<fence>`{3,}|~{3,})(?P<info>.*)$")
DIRECTIVE = re.compile(r"^(?P<indent>[ \t]*)\.\.[ \t]+(?P<name>code-block|code|sourcecode|testcode)::[ \t]*(?P<language>\S*)[ \t]*$")
PROMPT = re.compile(r"^(>>>|\.\.\.)(?: |$)")
# Headings that start a new section: Markdown's `#`/`##` (ATX) or underlined (setext) ones, any
# reStructuredText title. A page's sections are separate examples (an FAQ's answers), its blocks
# within one section build on each other.
MARKDOWN_HEADING = re.compile(r"^ {0,3}#{1,2}(?:[ \t]|$)")
SETEXT_UNDERLINE = re.compile(r"^ {0,3}(?:=+|-+)[ \t]*$")
RST_ADORNMENT = re.compile(r"^([=\-~^\"'`#*+<>:._])\1{2,}[ \t]*$")


def is_page(path: Path) -> bool:
    return path.suffix in DOC_SUFFIXES


@dataclass
class Block:
    index: int  # 1-based, counting the page's Python blocks
    first: int  # 0-based index of the first content line in the page
    last: int  # one past the last content line
    indent: str  # what each line gets when the block is rewritten
    rows: list[int]  # the page row (1-based) of each line of `code`
    offsets: list[int]  # characters before each line's code on its page row (indentation, prompt)
    code: str
    doctest: bool  # `>>>` examples: reported on, never rewritten
    section: int  # how many headings come before it


@dataclass
class Page:
    lines: list[str]  # the page's lines, each with its line ending
    blocks: list[Block]

    @property
    def parts(self) -> dict[int, str]:
        return {b.index: b.code for b in self.blocks}

    def sections(self) -> list[dict[int, str]]:
        """The blocks' code, one mapping per section: each section is analysed as one module."""
        groups: dict[int, dict[int, str]] = {}
        for b in self.blocks:
            groups.setdefault(b.section, {})[b.index] = b.code
        return list(groups.values())

    @property
    def report_only(self) -> frozenset[int]:
        return frozenset(b.index for b in self.blocks if b.doctest)

    def place(self, index: int, row: int, col: int) -> tuple[None, int, int]:
        """A block's (row, col) as the page's; a row past the block's end is past its last line."""
        block = self.blocks[index - 1]
        if row <= len(block.rows):
            return None, block.rows[row - 1], col + block.offsets[row - 1]
        return None, block.rows[-1] + row - len(block.rows), col + block.offsets[-1]

    def imports_elsewhere(self, section: dict[int, str]) -> str:
        """The one-line imports of the page's other sections: pages import once (`import equinox
        as eqx` at the top) and later sections' examples rely on it."""
        lines = dict.fromkeys(line for b in self.blocks if b.index not in section for line in b.code.split("\n") if _is_import(line))
        return "\n".join(lines)

    def reindent(self, index: int, edit: LocatedEdit, placed: LocatedEdit) -> LocatedEdit:
        """An edit of a block's code (`edit`, placed in the page as `placed`) as it applies to the
        page: its new lines indented as the block is, with the page's line endings, blank lines
        left blank as --fix writes them (JSON and SARIF edits are the page's)."""
        block = self.blocks[index - 1]
        head, *rest = edit.content.split("\n")
        if edit.location.col == 1 and head:  # where the line's own indentation is shorter (blank)
            head = block.indent[placed.location.col - edit.location.col :] + head
        lines = [head] + [block.indent + line if line else "" for line in rest]
        end = placed.end_location
        if rest and not rest[-1] and edit.end_location.col == 1:
            end = Position(end.row, 1)  # whole lines replaced: the next one keeps its own indentation
        elif rest:
            lines[-1] = block.indent + rest[-1]  # the rest of a line of the block follows
        return replace(placed, content=_newline_of(self.lines, block.first).join(lines), end_location=end)

    def block_at(self, page_row: int) -> tuple[int, int] | None:
        """(block index, row in the block) of a page row inside a block's code."""
        for block in self.blocks:
            if page_row in block.rows:
                return block.index, block.rows.index(page_row) + 1
        return None

    def with_sources(self, sources: dict[int, str]) -> str:
        """The page with the blocks whose code changed rewritten; doctest blocks never are."""
        out, last = [], 0
        for block in self.blocks:
            new = sources.get(block.index, block.code)
            if block.doctest or new == block.code:
                continue
            out += self.lines[last : block.first]
            lines = self._rewritten(block, new)
            if not self.lines[block.last - 1].endswith("\n"):  # an unclosed fence at the end of the page
                lines[-1] = lines[-1].rstrip("\r\n")
            out += lines
            last = block.last
        return "".join(out + self.lines[last:])

    def _rewritten(self, block: Block, new: str) -> list[str]:
        """The block's page lines for its new code: lines the fix kept stay as they were (a blank
        line's trailing spaces included), new ones are indented as the block is."""
        original = self.lines[block.first : block.last]
        newline = _newline_of(self.lines, block.first)
        old_code, new_code = block.code.split("\n"), new.split("\n")
        lines: list[str] = []
        for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, old_code, new_code, autojunk=False).get_opcodes():
            if tag == "equal":
                lines += original[i1:i2]
            else:
                lines += [(block.indent + line if line.strip() else "") + newline for line in new_code[j1:j2]]
        return lines


def load(text: str, path: Path) -> Page:
    lines = re.findall(r"[^\n]*\n|[^\n]+$", text)
    bodies = [line.rstrip("\n").removesuffix("\r") for line in lines]
    find = _rst_blocks if path.suffix == ".rst" else _markdown_blocks
    blocks = [_block(n, *found, bodies) for n, found in enumerate(find(bodies), start=1)]
    return Page(lines, blocks)


def skipped_note(skipped: joined.Skipped, page: Page) -> tuple[int, int, str]:
    """(page row, column, message) of a block left out because it does not parse."""
    _, row, col = page.place(skipped.index, skipped.row, skipped.col)
    return row, col, f"code block skipped: {skipped.message}"


IMPORT_LINE = re.compile(r"^(?:import|from)[ \t]+[\w.]+[^()\\;]*$")


def _is_import(line: str) -> bool:
    if not IMPORT_LINE.match(line):
        return False
    try:
        return isinstance(ast.parse(line).body[0], (ast.Import, ast.ImportFrom))
    except SyntaxError:
        return False


# --- finding blocks: (first content line, one past the last, indentation to strip, section) ------
def _markdown_blocks(bodies: list[str]):
    i = section = 0
    while i < len(bodies):
        opening = FENCE.match(bodies[i])
        if opening is None or (opening["fence"][0] == "`" and "`" in opening["info"]):
            underlined = i > 0 and bodies[i - 1].strip() and SETEXT_UNDERLINE.match(bodies[i])
            section += bool(MARKDOWN_HEADING.match(bodies[i]) or underlined)
            i += 1
            continue
        fence = opening["fence"]
        closing = re.compile(rf"^[ \t]*{re.escape(fence[0])}{{{len(fence)},}}[ \t]*$")
        end = next((j for j in range(i + 1, len(bodies)) if closing.match(bodies[j])), len(bodies))
        words = opening["info"].split()
        # A fence without a closing one runs to the end of the page, as CommonMark says.
        if words and words[0].lower() in MARKDOWN_LANGUAGES and end > i + 1:
            yield i + 1, end, opening["indent"], section
        i = end + 1


def _rst_blocks(bodies: list[str]):
    i = section = 0
    while i < len(bodies):
        directive = DIRECTIVE.match(bodies[i])
        section += bool(i > 0 and bodies[i - 1].strip() and RST_ADORNMENT.match(bodies[i]))
        i += 1
        if directive is None:
            continue
        if directive["name"] != "testcode" and directive["language"].lower() not in RST_LANGUAGES:
            continue
        depth = len(directive["indent"])
        end = i
        while end < len(bodies) and (not bodies[end].strip() or _depth(bodies[end]) > depth):
            end += 1
        content = list(range(i, end))
        # Option lines (`:linenos:`) come first, up to the first blank line.
        while content and bodies[content[0]].strip().startswith(":"):
            content.pop(0)
        filled = [j for j in content if bodies[j].strip()]
        if filled:
            indent = min((bodies[j][: _depth(bodies[j])] for j in filled), key=len)
            yield filled[0], filled[-1] + 1, indent, section
        i = end


def _depth(line: str) -> int:
    return len(line) - len(line.lstrip(" \t"))


def _block(index: int, first: int, last: int, indent: str, section: int, bodies: list[str]) -> Block:
    stripped = [_dedent(bodies[j], indent) for j in range(first, last)]
    if next((line for line, _ in stripped if line.strip()), "").lstrip().startswith(">>>"):
        return _doctest(index, first, last, indent, section, stripped)
    rows = list(range(first + 1, last + 1))
    code = "\n".join(line for line, _ in stripped)
    return Block(index, first, last, indent, rows, [width for _, width in stripped], code, False, section)


def _dedent(line: str, indent: str) -> tuple[str, int]:
    """The line without (at most) the block's indentation, and how many characters that was."""
    width = min(len(indent), _depth(line))
    return line[width:], width


def _doctest(index: int, first: int, last: int, indent: str, section: int, stripped: list[tuple[str, int]]) -> Block:
    """Only the prompted lines are code; outputs are dropped, and a `...` line is a continuation only
    after a prompted line (elsewhere it is an output's ellipsis)."""
    rows, offsets, code = [], [], []
    in_example = False
    for j, (line, width) in enumerate(stripped):
        prompt = PROMPT.match(line.lstrip(" \t"))
        lead = _depth(line)
        if prompt and (prompt[1] == ">>>" or in_example):
            skip = lead + prompt.end()
            rows.append(first + j + 1)
            offsets.append(width + skip)
            code.append(line[skip:])
            in_example = True
        else:
            in_example = False
    return Block(index, first, last, indent, rows, offsets, "\n".join(code), True, section)


# --- writing back ---------------------------------------------------------------------------------
def _newline_of(lines: list[str], i: int) -> str:
    line = lines[i] if i < len(lines) else (lines[-1] if lines else "\n")
    return "\r\n" if line.endswith("\r\n") else "\n"
