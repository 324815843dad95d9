"""Jupyter notebooks: their code cells as one module, positions mapped back to cells, and the JSON
written back with only the changed cells' `source` different."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

PYTHON_CELL_MAGICS = frozenset({"time", "timeit", "capture", "prun", "debug"})
MAGIC_LINE = re.compile(r"^\s*(?:[%!]|\w+\s*=\s*[%!])|\?\s*$")
CELL_MARKER = "# __eqx_rewrite_cell_{}__"
MARKER = re.compile(r"^# __eqx_rewrite_cell_(\d+)__$", re.MULTILINE)
PLACEHOLDER = "pass  # __eqx_rewrite_magic_{}__"
PLACEHOLDER_LINE = re.compile(r"^([ \t]*)pass  # __eqx_rewrite_magic_(\d+)__$", re.MULTILINE)


class NotebookError(Exception):
    """A notebook that cannot be read or written back faithfully."""


@dataclass
class Cell:
    index: int  # 1-based, counting every cell as the notebook shows them
    source: str


@dataclass
class Notebook:
    raw: str
    data: dict
    cells: list[Cell]  # the code cells that were analysed
    magics: list[str] = field(default_factory=list)  # original lines behind the placeholders
    module: str = ""

    # --- writing back --------------------------------------------------------------------------
    def with_module(self, module: str) -> str:
        """The notebook's JSON text with the cells of the (fixed) module written back."""
        sources = self._split(module)
        for cell in self.cells:
            original = self.data["cells"][cell.index - 1]
            if sources[cell.index] != cell.source:
                original["source"] = _as_stored(sources[cell.index], original["source"])
        return dump_like(self.data, self.raw)

    def cell_sources(self, module: str) -> dict[int, str]:
        return self._split(module)

    def changed_cells(self, module: str) -> list[tuple[int, str, str]]:
        sources = self._split(module)
        return [(c.index, c.source, sources[c.index]) for c in self.cells if sources[c.index] != c.source]

    def _split(self, module: str) -> dict[int, str]:
        restored = self._restore_magics(module)
        parts = MARKER.split(restored)
        indices = [int(i) for i in parts[1::2]]
        if indices != [c.index for c in self.cells] or parts[0].strip():
            raise NotebookError("a fix moved code across cells; the notebook was left as it was")
        sources = {}
        for index, text in zip(indices, parts[2::2]):
            # Each cell's code sits between its marker's newline and the newline joining the next.
            body = text[1:] if text.startswith("\n") else text
            sources[index] = body[:-1] if body.endswith("\n") else body
        return sources

    def _restore_magics(self, module: str) -> str:
        seen: list[int] = []

        def restore(match: re.Match) -> str:
            seen.append(int(match.group(2)))
            return self.magics[int(match.group(2))]

        restored = PLACEHOLDER_LINE.sub(restore, module)
        if sorted(seen) != list(range(len(self.magics))):
            raise NotebookError("a fix touched a line magic; the notebook was left as it was")
        return restored


def locate(module: str, row: int) -> tuple[int, int]:
    """(cell index, row within the cell) of a row of a joined module, fixed or not."""
    best = (0, row)
    for match in MARKER.finditer(module):
        marker_row = module.count("\n", 0, match.start()) + 1
        if marker_row >= row:
            break
        best = (int(match.group(1)), row - marker_row)
    return best


def module_row(module: str, cell: int, row: int) -> int:
    """The inverse of `locate`: the row of the joined module that a cell's row is."""
    marker = module.index(CELL_MARKER.format(cell) + "\n")
    return module.count("\n", 0, marker) + 1 + row


def load(raw: str) -> Notebook:
    try:
        data = json.loads(raw)
    except json.JSONDecodeError as exc:
        raise NotebookError(f"invalid notebook JSON at line {exc.lineno}: {exc.msg}") from None
    if not isinstance(data, dict) or data.get("nbformat") != 4 or not isinstance(data.get("cells"), list):
        raise NotebookError("not an nbformat 4 notebook")
    notebook = Notebook(raw, data, [])
    lines: list[str] = []
    for index, cell in enumerate(data["cells"], start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        text = _cell_text(cell)
        code = _python_of(text, notebook)
        if code is None:
            continue  # %%bash, %%writefile...: not Python
        lines.append(CELL_MARKER.format(index))
        notebook.cells.append(Cell(index, text))
        lines.extend(code.split("\n"))
    notebook.module = "\n".join(lines) + "\n"
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


def _as_stored(text: str, like) -> list[str] | str:
    """In the representation the notebook used: a list of lines (each keeping its newline) or a string."""
    if isinstance(like, str):
        return text
    return text.splitlines(keepends=True)


def dump_like(data: dict, raw: str) -> str:
    """`data` serialised the way `raw` was, or an error when that way cannot be reproduced."""
    original = json.loads(raw)
    for indent in (1, 2, 4, None, 0, 3):
        for sort_keys in (True, False):
            for ensure_ascii in (False, True):
                options = {"indent": indent, "sort_keys": sort_keys, "ensure_ascii": ensure_ascii}
                if indent is None:
                    options["separators"] = (",", ":")
                text = json.dumps(original, **options)
                trailing = raw[len(text) :]
                if raw.startswith(text) and not trailing.strip():
                    return json.dumps(data, **options) + trailing
    raise NotebookError("the notebook's JSON layout is not one this tool can reproduce; not written")
