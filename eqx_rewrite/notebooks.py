"""Jupyter notebooks: their code cells as one module, positions mapped back to cells, and the JSON
written back with only the changed cells' `source` different."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from . import joined

PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
MAGIC_LINE = re.compile(r"^\s*(?:[%!]|\w+\s*=\s*[%!])|\?\s*$")
PLACEHOLDER = "pass  # __eqx_rewrite_magic_{}__"
PLACEHOLDER_LINE = re.compile(r"^([ \t]*)pass  # __eqx_rewrite_magic_(\d+)__$", re.MULTILINE)


class NotebookError(Exception):
    """A notebook that cannot be read or written back faithfully."""


@dataclass
class Cell:
    index: int  # 1-based, counting every cell as the notebook shows them
    source: str
    code: str  # the source with its magics replaced by placeholders: what is analysed
    magics: list[int] = field(default_factory=list)  # the placeholders' numbers


@dataclass
class Notebook:
    raw: str
    data: dict
    cells: list[Cell]  # the code cells that are analysed
    magics: list[str] = field(default_factory=list)  # original lines behind the placeholders

    @property
    def parts(self) -> dict[int, str]:
        return {c.index: c.code for c in self.cells}

    @property
    def module(self) -> str:
        return joined.join(self.parts)

    def place(self, index: int, row: int, col: int) -> tuple[int | None, int, int]:
        return index, row, col

    # --- writing back --------------------------------------------------------------------------
    def with_module(self, module: str) -> str:
        """The notebook's JSON text with the cells of the (fixed) module written back."""
        return self.with_sources(self.cell_sources(module))

    def with_sources(self, sources: dict[int, str]) -> str:
        """The notebook's JSON text with the cells in `sources` that changed written back, and every
        byte outside their `source` values as it was."""
        changed = {c.index: sources[c.index] for c in self.cells if c.index in sources and sources[c.index] != c.source}
        return splice_sources(self.raw, changed)

    def cell_sources(self, module: str) -> dict[int, str]:
        """The cells of a (fixed) module joined from every code cell, magics restored."""
        return self.restore(self.split(module, [c.index for c in self.cells]))

    def split(self, module: str, indices: list[int]) -> dict[int, str]:
        try:
            return joined.split(module, indices)
        except joined.JoinError:
            raise NotebookError("a fix moved code across cells; the notebook was left as it was") from None

    def changed_cells(self, sources: dict[int, str]) -> list[tuple[int, str, str]]:
        return [(c.index, c.source, sources[c.index]) for c in self.cells if c.index in sources and sources[c.index] != c.source]

    def restore(self, codes: dict[int, str]) -> dict[int, str]:
        """The cells' sources, magic lines back in place of their placeholders."""
        expected = sorted(m for c in self.cells if c.index in codes for m in c.magics)
        seen: list[int] = []

        def restore(match: re.Match) -> str:
            seen.append(int(match.group(2)))
            return self.magics[int(match.group(2))]

        restored = {index: PLACEHOLDER_LINE.sub(restore, code) for index, code in codes.items()}
        if sorted(seen) != expected:
            raise NotebookError("a fix touched a line magic; the notebook was left as it was")
        return restored


def load(raw: str) -> Notebook:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"invalid notebook JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("nbformat") != 4 or not isinstance(data.get("cells"), list):
        raise NotebookError("not an nbformat 4 notebook")
    notebook = Notebook(raw, data, [])
    for index, cell in enumerate(data["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        text = _cell_text(cell)
        first_magic = len(notebook.magics)
        code = _python_of(text, notebook)
        if code is None:
            continue  # %%bash, %%writefile...: not Python
        notebook.cells.append(Cell(index, text, code, list(range(first_magic, len(notebook.magics)))))
    return notebook


def _cell_text(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else str(source)


def _python_of(text: str, notebook: Notebook) -> str | None:
    lines = text.split("\n")
    if lines and lines[0].startswith("%%"):
        magic = lines[0][2:].split(None, 1)[0] if lines[0][2:].strip() else ""
        if magic not in PYTHON_CELL_MAGICS:
            return None
    out = []
    for line in lines:
        if line.startswith("%%") or MAGIC_LINE.search(line):
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + PLACEHOLDER.format(len(notebook.magics)))
            notebook.magics.append(line)
        else:
            out.append(line)
    return "\n".join(out)


# --- writing back: new `source` values spliced into the original text ---------------------------
WHITESPACE = re.compile(r"[ \t\n\r]*")
WHITESPACE_IN_LINE = re.compile(r"[ \t]*")
DECODER = json.JSONDecoder()


@dataclass(frozen=True)
class Layout:
    """How the notebook's JSON was written, as far as a new `source` list needs it."""

    newline: str | None  # None: compact, every list on one line
    step: str  # one level of indentation
    separator: str  # between list items on one line
    ascii: bool


def splice_sources(raw: str, changed: dict[int, str]) -> str:
    """`raw` with the `source` of the cells in `changed` (1-based index -> new text) replaced, each
    written as the notebook wrote its values (a list of lines or one string, the same indentation,
    escapes and newlines), every other byte kept; re-serialising the whole document would not
    reproduce every writer's layout (compact JSON, CRLF files, key orders)."""
    if not changed:
        return raw
    spans = _source_spans(raw)
    layout = _layout(raw)
    out, last = [], 0
    for index in sorted(changed):
        start, end = spans[index]
        out += [raw[last:start], _source_value(changed[index], raw[start:end], raw, start, layout)]
        last = end
    text = "".join(out) + raw[last:]
    expected = json.loads(raw)
    for index, source in changed.items():
        cell = expected["cells"][index - 1]
        cell["source"] = source if isinstance(cell["source"], str) else source.splitlines(keepends=True)
    if json.loads(text) != expected:
        raise NotebookError("the notebook's JSON could not be written back faithfully; not written")
    return text


def _source_spans(raw: str) -> dict[int, tuple[int, int]]:
    """Where each cell's `source` value lies in `raw`, by 1-based cell index."""
    spans: dict[int, tuple[int, int]] = {}
    for key, start, end in _members(raw, _skip(raw, 0)):
        if key == "cells":
            for number, cell_start in enumerate(_items(raw, start), start=1):
                if raw[cell_start] == "{":
                    for cell_key, value_start, value_end in _members(raw, cell_start):
                        if cell_key == "source":
                            spans[number] = (value_start, value_end)
    return spans


def _skip(raw: str, i: int) -> int:
    return WHITESPACE.match(raw, i).end()


def _members(raw: str, i: int):
    """(key, value start, value end) of the object at `raw[i]`."""
    i = _skip(raw, i + 1)
    while raw[i] != "}":
        key, i = json.decoder.scanstring(raw, i + 1)
        start = _skip(raw, _skip(raw, i) + 1)  # past the colon
        _, end = DECODER.raw_decode(raw, start)
        yield key, start, end
        i = _skip(raw, end)
        if raw[i] == ",":
            i = _skip(raw, i + 1)


def _items(raw: str, i: int):
    """The start of each item of the array at `raw[i]`."""
    i = _skip(raw, i + 1)
    while raw[i] != "]":
        yield i
        _, end = DECODER.raw_decode(raw, i)
        i = _skip(raw, end)
        if raw[i] == ",":
            i = _skip(raw, i + 1)


def _layout(raw: str) -> Layout:
    first_key = _skip(raw, _skip(raw, 0) + 1)
    opening = raw[_skip(raw, 0) + 1 : first_key]
    newline = ("\r\n" if "\r\n" in opening else "\n") if "\n" in opening else None
    step = opening.split("\n")[-1] if newline else ""
    separator = ", " if newline is None and re.search(r'",\s"', raw[:4096]) else ","
    return Layout(newline, step, separator, raw.isascii())


def _source_value(text: str, old: str, raw: str, start: int, layout: Layout) -> str:
    def string(value: str) -> str:
        return json.dumps(value, ensure_ascii=layout.ascii)

    if old.startswith('"'):
        return string(text)
    lines = [string(line) for line in text.splitlines(keepends=True)]
    if not lines:
        return "[]"
    if layout.newline is None:
        return "[" + layout.separator.join(lines) + "]"
    line_start = raw.rfind("\n", 0, start) + 1
    indent = WHITESPACE_IN_LINE.match(raw, line_start).group()
    inner = layout.newline + indent + layout.step
    return "[" + inner + ("," + inner).join(lines) + layout.newline + indent + "]"
