"""Findings as text, concise, json, github or sarif; statistics and lists of fixes."""

from __future__ import annotations

import json
import os
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from . import __version__
from .engine import Diagnostic, LocatedEdit, Position
from .rule import Rule, all_rules, doc_section, explanation, rule_url

FORMATS = ("text", "concise", "json", "github", "sarif")


@dataclass(frozen=True)
class Located:
    """A diagnostic in a named file, with the source lines text output quotes."""

    filename: str
    diagnostic: Diagnostic
    line_text: str = ""


@dataclass(frozen=True)
class Style:
    """ANSI colours for a terminal, in ruff's scheme: paths bold, codes bold red, separators cyan."""

    on: bool = False

    def __call__(self, text: str, *sgr: str) -> str:
        return f"\033[{';'.join(sgr)}m{text}\033[0m" if self.on else text

    def place(self, item: Located) -> str:
        """`path:row:col:`, or `path:cell N:row:col:` in a notebook."""
        d = item.diagnostic
        colon = self(":", CYAN)
        cell = f"{colon}cell {d.cell}" if d.cell is not None else ""
        return f"{self(item.filename, BOLD)}{cell}{colon}{d.location.row}{colon}{d.location.col}{colon}"

    def head(self, item: Located) -> str:
        d = item.diagnostic
        marker = {"safe": "*", "unsafe": "-"}.get(d.fix_safety or "")
        flag = f" [{self(marker, CYAN)}]" if marker else ""
        return f"{self.place(item)} {self(d.code, BOLD, RED)}{flag} {d.message}\n"


BOLD, RED, CYAN, BLUE = "1", "31", "36", "94"
PLAIN = Style()


def render(items: list[Located], fmt: str, color: bool = False) -> str:
    """`color`: ANSI colours, for text and concise output on a terminal."""
    if fmt in ("text", "concise"):
        return RENDERERS[fmt](items, Style(color))
    return RENDERERS[fmt](items)


def _concise(items: list[Located], style: Style = PLAIN) -> str:
    return "".join(style.head(i) for i in items)


def _text(items: list[Located], style: Style = PLAIN) -> str:
    out = []
    for item in items:
        d = item.diagnostic
        out.append(style.head(item))
        if item.line_text:
            gutter = " " * len(str(d.location.row))
            bar = style("|", BOLD, BLUE)
            width = d.end_location.col - d.location.col if d.end_location.row == d.location.row else 1
            out.append(f"{gutter} {bar}\n{style(str(d.location.row), BOLD, BLUE)} {bar} {item.line_text}\n")
            out.append(f"{gutter} {bar} {' ' * (d.location.col - 1)}{style('^' * max(width, 1), BOLD, RED)}\n")
            if d.fix_message:
                kind = "" if d.fix_safety == "safe" else " (unsafe: needs --unsafe-fixes)"
                out.append(f"{gutter} {style('=', BOLD, BLUE)} {style('fix', BOLD, CYAN)}{kind}: {d.fix_message}\n")
            out.append("\n")
    return "".join(out)


def summary(
    items: list[Located], fixed: int = 0, dry_run: bool = False, held: frozenset[str] = frozenset(), failed: int = 0, unfound: int = 0
) -> str:
    """`held`: files whose fixes --verify held back; their findings are not "fixable" hints.
    `failed`: files that could not be processed, `unfound`: paths that could not be searched; either
    rules out "All checks passed!"."""
    held_back = sum(1 for i in items if i.filename in held)
    safe = sum(1 for i in items if i.diagnostic.fix_safety == "safe" and i.filename not in held)
    unsafe = sum(1 for i in items if i.diagnostic.fix_safety == "unsafe" and i.filename not in held)
    parts = []
    if fixed:
        verb = "Would fix" if dry_run else "Fixed"
        parts.append(f"{verb} {fixed} finding{'s' * (fixed != 1)}.")
    if items:
        parts.append(f"Found {len(items)} finding{'s' * (len(items) != 1)}")
        extras = []
        if safe:
            extras.append(f"{safe} fixable with --fix")
        if unsafe:
            extras.append(f"{unsafe} more with --unsafe-fixes")
        if held_back:
            extras.append(f"{held_back} held back by --verify")
        parts[-1] += f" ({', '.join(extras)})." if extras else "."
    elif not fixed and not failed and not unfound:
        parts.append("All checks passed!")
    if failed:
        parts.append(f"{failed} file{'s' * (failed != 1)} could not be processed.")
    if unfound:
        parts.append(f"{unfound} path{'s' * (unfound != 1)} could not be searched.")
    return " ".join(parts) + "\n"


STATISTICS_FORMATS = ("text", "concise", "json")


def statistics(items: list[Located], fmt: str, unsafe_fixes: bool = False) -> str:
    """Findings counted per code, most frequent first, as ruff's `--statistics`: `[*]` when every one
    is fixable by `--fix` as run, `[-]` when some are, `[ ]` when none are."""
    counts = Counter(i.diagnostic.code for i in items)
    names = {i.diagnostic.code: i.diagnostic.name for i in items}
    fixable_counts = Counter(i.diagnostic.code for i in items if fixable(i.diagnostic, unsafe_fixes))
    rows = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    if fmt == "json":
        return json.dumps(
            [{"code": c, "name": names[c], "count": n, "fixable": fixable_counts[c] > 0, "fixable_count": fixable_counts[c]} for c, n in rows],
            indent=2,
        ) + "\n"
    width = max((len(str(n)) for _, n in rows), default=0)
    out = []
    for code, n in rows:
        marker = "[*]" if fixable_counts[code] == n else "[-]" if fixable_counts[code] else "[ ]"
        partly = f" ({fixable_counts[code]} fixable)" if 0 < fixable_counts[code] < n else ""
        out.append(f"{n:>{width}}\t{code}\t{marker} {names[code]}{partly}\n")
    return "".join(out)


def fixable(d: Diagnostic, unsafe_fixes: bool) -> bool:
    """Whether `--fix` (with `--unsafe-fixes` as given) would fix it."""
    return d.fix_safety == "safe" or (unsafe_fixes and d.fix_safety == "unsafe")


def fix_list(heading: str, per_file: list[tuple[str, Counter]], names: dict[str, str]) -> str:
    """`--show-fixes`: `heading` with `{}` for "N findings" (e.g. "Fixed {}"), then per file the
    count per code, as ruff lists its fixes."""
    total = sum(sum(c.values()) for _, c in per_file)
    if not total:
        return ""
    out = [heading.format(f"{total} finding{'s' * (total != 1)}") + ":\n"]
    for filename, counts in per_file:
        if counts:
            out.append(f"- {filename}:\n")
            out.extend(f"    {n} \u00d7 {code} ({names[code]})\n" for code, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
    return "".join(out) + "\n"


def _position(p: Position) -> dict:
    return {"row": p.row, "column": p.col}


def _edit(e: LocatedEdit) -> dict:
    return {"content": e.content, "location": _position(e.location), "end_location": _position(e.end_location)}


def _json(items: list[Located]) -> str:
    return json.dumps([json_object(i) for i in items], indent=2) + "\n"


def render_json_document(items: list[Located], extra: dict) -> str:
    """With --verify, JSON output is an object: the findings, plus the verification's outcome."""
    return json.dumps({"findings": [json_object(i) for i in items], **extra}, indent=2) + "\n"


def json_object(item: Located) -> dict:
    d = item.diagnostic
    fix = None
    if d.fix_safety is not None:
        fix = {"applicability": d.fix_safety, "message": d.fix_message, "edits": [_edit(e) for e in d.edits]}
    result = {
        "code": d.code,
        "name": d.name,
        "message": d.message,
        "filename": item.filename,
        "location": _position(d.location),
        "end_location": _position(d.end_location),
        "fix": fix,
        "url": rule_url(d.code),
    }
    if d.cell is not None:
        result["cell"] = d.cell  # rows count from the cell's first line
    return result


def _github_escape(text: str, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def _github(items: list[Located]) -> str:
    out = []
    for item in items:
        d = item.diagnostic
        props = (
            f"file={_github_escape(item.filename, True)},line={d.location.row},col={d.location.col},"
            f"endLine={d.end_location.row},endColumn={d.end_location.col},title={d.code} {d.name}"
        )
        if d.cell is not None:
            props += f" (cell {d.cell})"
        out.append(f"::error {props}::{_github_escape(f'{d.code} {d.message}')}\n")
    return "".join(out)


# SARIF 2.1.0, as the OASIS schema and GitHub code scanning read it.
SARIF_SCHEMA_URI = "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json"
SRCROOT = "%SRCROOT%"


def _sarif(items: list[Located]) -> str:
    # Relative paths were typed from the working folder, so that is the root they are relative to.
    base = Path.cwd()
    rules = [_sarif_rule(rule) for rule in all_rules()]
    index = {r["id"]: n for n, r in enumerate(rules)}
    log = {
        "$schema": SARIF_SCHEMA_URI,
        "version": "2.1.0",
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "eqx-rewrite",
                        "version": __version__,
                        "informationUri": "https://github.com/eqx-rewrite/eqx-rewrite",
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {SRCROOT: {"uri": _folder_uri(base)}},
                "columnKind": "unicodeCodePoints",  # our columns count characters
                "results": [_sarif_result(item, index[item.diagnostic.code], base) for item in items],
            }
        ],
    }
    return json.dumps(log, indent=2) + "\n"


def _sarif_rule(rule: type[Rule]) -> dict:
    doc = explanation(rule.code) + "\n"  # as `--explain` prints it
    tags = ["jax", "equinox"] + (["pytree-layout"] if rule.changes_layout else [])
    return {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": doc_section(rule, "What it does") or rule.summary},
        "help": {"text": doc, "markdown": doc},
        "helpUri": rule_url(rule.code),
        "defaultConfiguration": {"level": "error"},
        "properties": {"tags": tags},
    }


def _sarif_result(item: Located, rule_index: int, base: Path) -> dict:
    d = item.diagnostic
    artifact = artifact_location(item.filename, base)
    result: dict = {
        "ruleId": d.code,
        "ruleIndex": rule_index,
        "level": "error",
        "message": {"text": d.message},
        "locations": [{"physicalLocation": {"artifactLocation": artifact, "region": _region(d.location, d.end_location)}}],
    }
    if d.cell is not None:
        # Rows count from the cell's first line, not the notebook file's: say which cell.
        result["properties"] = {"cell": d.cell}
    elif d.edits:
        # A notebook's edits are in cell coordinates, which would corrupt its JSON if applied as
        # regions of the file: only plain files carry fixes.
        result["fixes"] = [_sarif_fix(d, artifact)]
    return result


def _sarif_fix(d: Diagnostic, artifact: dict) -> dict:
    kind = "" if d.fix_safety == "safe" else " (unsafe: needs --unsafe-fixes)"
    return {
        "description": {"text": f"{d.fix_message}{kind}"},
        "artifactChanges": [
            {
                "artifactLocation": artifact,
                "replacements": [
                    {"deletedRegion": _region(e.location, e.end_location), "insertedContent": {"text": e.content}}
                    for e in d.edits
                ],
            }
        ],
        "properties": {"applicability": d.fix_safety},
    }


def _region(start: Position, end: Position) -> dict:
    # SARIF's endColumn is the column after the region, as ours is.
    return {"startLine": start.row, "startColumn": start.col, "endLine": end.row, "endColumn": end.col}


def artifact_location(filename: str, base: Path) -> dict:
    """A SARIF artifactLocation for a path as it was typed: relative to %SRCROOT% (`base`) when the
    file lies under it, else an absolute `file:` URI; percent-encoded either way."""
    path = _absolute(Path(filename), base)
    try:
        relative = path.relative_to(base)
    except ValueError:
        return {"uri": path.as_uri()}
    return {"uri": quote(relative.as_posix()), "uriBaseId": SRCROOT}


def _absolute(path: Path, base: Path) -> Path:
    """`path` from `base`, with `..` resolved as the OS resolves it (through linked folders), while
    the file's own name, a link or not, stays what was typed."""
    path = base / path
    if ".." not in path.parts:
        return path
    return Path(os.path.realpath(path.parent)) / path.name


def _folder_uri(folder: Path) -> str:
    uri = folder.as_uri()
    return uri if uri.endswith("/") else uri + "/"


RENDERERS: dict[str, Callable[[list[Located]], str]] = {
    "text": _text,
    "concise": _concise,
    "json": _json,
    "github": _github,
    "sarif": _sarif,
}
