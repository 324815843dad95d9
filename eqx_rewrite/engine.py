"""One module at a time: parse, index, run the rules, drop suppressed findings, fix to a fixpoint."""

from __future__ import annotations

import ast
import bisect
import contextlib
import gc
import re
from dataclasses import dataclass, field
from typing import Any, Callable, Iterable, Iterator

import libcst as cst

from . import codegen
from .index import ModuleIndex
from .prefilter import features
from .project import star_imported
from .rule import Edit, Finding, Fix, Rule, RuleSelection, Safety, all_rules
from .suppress import Suppressions, skips_file
from .offsets import spans
from .walk import parents

MAX_FIX_PASSES = 8
NEWLINE = re.compile(r"\r\n|\r|\n")
# The alias a file gets for a module it must newly import, when that name is free.
PREFERRED_ALIASES = {"equinox": "eqx", "jax": "jax", "jax.numpy": "jnp", "jax.random": "jr"}


class ParseError(Exception):
    def __init__(self, row: int, col: int, message: str):
        super().__init__(message)
        self.row, self.col, self.message = row, col, message


class InternalError(Exception):
    """A rule produced a fix that does not parse: a bug of ours, never written to the user's file."""


@dataclass(frozen=True)
class Settings:
    selection: RuleSelection = field(default_factory=RuleSelection)
    unsafe_fixes: bool = False
    line_length: int = 88
    target_version: str = "py314"  # the oldest Python the code must run on: generated code is formatted for it
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    project_module_classes: frozenset[str] = frozenset()
    project_jitted: frozenset[tuple[str, str]] = frozenset()  # (module, function) compiled in the run
    project_star_exports: frozenset[tuple[str, str, str]] = frozenset()  # (module, name, target) of the run's imports
    project_key_ignoring: frozenset[str] = frozenset()  # classes whose `__call__` never reads its `key`
    # (source, offset) -> whether fixes must leave that offset alone: a page's doctest blocks, which
    # are reported on but never rewritten, among the snippets joined into one module.
    frozen: Callable[[str, int], bool] | None = None

    def rules(self) -> list[Rule]:
        return [cls() for cls in all_rules() if self.selection.enabled(cls.code)]

    def fixable(self, finding: Finding) -> bool:
        fix = finding.fix
        return fix is not None and (fix.safety is Safety.SAFE or self.unsafe_fixes)


@dataclass(frozen=True)
class Position:
    row: int  # 1-based
    col: int  # 1-based, in characters


@dataclass(frozen=True)
class LocatedEdit:
    content: str
    location: Position
    end_location: Position


@dataclass(frozen=True)
class Diagnostic:
    """A finding placed in its source by row and column: what reporters and the cache deal in."""

    code: str
    name: str
    message: str
    location: Position
    end_location: Position
    fix_safety: str | None = None
    fix_message: str | None = None
    edits: tuple[LocatedEdit, ...] = ()
    cell: int | None = None  # for notebooks: rows count from this cell's first line


@dataclass
class Analysis:
    diagnostics: list[Diagnostic]  # in the fixed source, when fixing
    fixed_source: str
    fixes_applied: int = 0
    found: list[Diagnostic] | None = None  # in the original source, when fixes were applied


class Lines:
    """Offsets <-> (row, col) for one source text, for every newline style."""

    def __init__(self, source: str):
        self.starts = [0] + [m.end() for m in NEWLINE.finditer(source)]

    def offset(self, row: int, col: int) -> int:
        return self.starts[row - 1] + col

    def position(self, offset: int) -> Position:
        row = bisect.bisect_right(self.starts, offset)
        return Position(row, offset - self.starts[row - 1] + 1)


def parse(source: str) -> cst.Module:
    try:
        return cst.parse_module(source)
    except cst.ParserSyntaxError as exc:
        raise ParseError(exc.raw_line, exc.raw_column + 1, f"SyntaxError: {exc.message}") from None
    except RecursionError:
        raise ParseError(1, 1, "file is nested too deeply to parse") from None


def _ast_parse(source: str) -> ast.Module | None:
    """The `ast` tree, or None where this Python's grammar is older than the file's (PEP 695
    generics under 3.11): libcst, which parses newer syntax, then judges the file."""
    nul = source.find("\0")
    if nul >= 0:  # Python refuses such a file; libcst would parse it
        line_start = source.rfind("\n", 0, nul) + 1
        raise ParseError(source.count("\n", 0, nul) + 1, nul - line_start + 1, "SyntaxError: source contains a NUL byte")
    try:
        return ast.parse(source)
    except SyntaxError as exc:
        try:
            cst.parse_module(source)
        except (cst.ParserSyntaxError, RecursionError):
            # Wrong in both grammars: `ast` says where, better than libcst does.
            raise ParseError(exc.lineno or 1, exc.offset or 1, f"SyntaxError: {exc.msg}") from None
        return None
    except RecursionError:
        raise ParseError(1, 1, "file is nested too deeply to parse") from None


class LazyMetadata:
    """What rules ask about the whole tree, computed on first use (most candidate files never
    need it): parents, spans, and whatever else rules compute once and ask again per finding."""

    def __init__(self, module: cst.Module):
        self._module = module
        self._parents: dict | None = None
        self._spans: dict | None = None
        self._memo: dict = {}

    @property
    def parents(self) -> dict:
        if self._parents is None:  # ParentNodeProvider's map, at a seventh of its cost
            self._parents = parents(self._module)
        return self._parents

    @property
    def spans(self) -> dict:
        if self._spans is None:  # PositionProvider's ranges as offsets, at a fifth of its cost
            self._spans = spans(self._module)
        return self._spans

    def memo(self, fn, *args):
        key = (fn, *args)  # nodes hash by identity, and the tree outlives this object
        if key not in self._memo:
            self._memo[key] = fn(*args)
        return self._memo[key]


class Context:
    """What a rule sees: the tree, its index, positions, options, and helpers to build fixes."""

    def __init__(self, source: str, module: cst.Module, index: ModuleIndex, settings: Settings, rule: Rule, metadata, lines: Lines):
        self.source = source
        self.module = module
        self.index = index
        self.settings = settings
        self.rule = rule
        self.lines = lines
        self._metadata = metadata
        self._reserved: dict[str, str] = {}

    @property
    def parents(self):
        return self._metadata.parents

    # --- positions ---------------------------------------------------------------------------
    def span(self, node: cst.CSTNode) -> tuple[int, int]:
        return self._metadata.spans[node]

    def indent_of(self, node: cst.CSTNode) -> str:
        offset = self.span(node)[0]
        line = self.source[self.lines.starts[self.lines.position(offset).row - 1] : offset]
        return line if not line.strip() else re.match(r"[ \t]*", line).group(0)

    def line_end(self, offset: int) -> int:
        """The end of the line holding `offset`, before its newline."""
        row = self.lines.position(offset).row
        if row < len(self.lines.starts):
            return len(self.source[: self.lines.starts[row]].rstrip("\r\n"))
        return len(self.source.rstrip("\r\n"))

    def insert_after(self, node: cst.CSTNode, code: str) -> Edit:
        """Insert rendered `code` (its first line not yet indented) after `node`'s last line, with the
        blank lines PEP 8 puts between definitions at that depth. It goes past the line's newline, so a `delete_lines` of the
        node's last statement (which takes that newline) ends where this begins, not overlapping it."""
        end = self.line_end(self.span(node)[1])
        indent = self.indent_of(node)
        blank = "\n" if indent else "\n\n"
        newline = next((n for n in ("\r\n", "\n", "\r") if self.source.startswith(n, end)), "")
        if not newline:  # the last line of a file without a final newline
            return Edit(end, end, "\n" + blank + indent + code)
        return Edit(end + len(newline), end + len(newline), blank + indent + code + "\n")

    def delete_lines(self, node: cst.CSTNode) -> Edit:
        """Remove the whole lines a statement stands on, newline included."""
        start, end = self.span(node)
        line_start = self.lines.starts[self.lines.position(start).row - 1]
        next_row = self.lines.position(end).row
        line_end = self.lines.starts[next_row] if next_row < len(self.lines.starts) else len(self.source)
        return Edit(line_start, line_end, "")

    def text(self, node: cst.CSTNode) -> str:
        """The node's source, exactly as written, with its own parentheses: spans (PositionProvider's
        too) leave them out, and `(a, b)` copied into a call without them is two arguments."""
        if getattr(node, "lpar", None):
            return self.module.code_for_node(node)
        return self.source[slice(*self.span(node))]

    def snippet(self, node: cst.CSTNode, width: int = 40) -> str:
        """The node's source on one line, shortened, for messages."""
        text = " ".join(self.text(node).split())
        return text if len(text) <= width else text[: width - 3] + "..."

    def ancestors_within(self, node: cst.CSTNode, outer: cst.CSTNode) -> Iterable[cst.CSTNode]:
        """The ancestors of `node` below `outer`."""
        for ancestor in self.ancestors(node):
            if ancestor is outer:
                return
            yield ancestor

    def is_inside(self, node: cst.CSTNode, ancestor: cst.CSTNode | None) -> bool:
        return ancestor is not None and any(a is ancestor for a in self.ancestors(node))

    def parent(self, node: cst.CSTNode) -> cst.CSTNode | None:
        return self.parents.get(node)

    def ancestors(self, node: cst.CSTNode) -> Iterable[cst.CSTNode]:
        current = self.parents.get(node)
        while current is not None:
            yield current
            current = self.parents.get(current)

    def once(self, fn, *args):
        """`fn(*args)` (args: nodes of this tree, the index), computed once for every rule that
        asks in this check: a question about a whole module asked per finding would make a
        file's cost grow with its size squared."""
        return self._metadata.memo(fn, *args)

    # --- options -----------------------------------------------------------------------------
    def option(self, name: str) -> Any:
        configured = self.settings.rule_options.get(self.rule.code, {})
        return configured.get(name, self.rule.options[name].default)

    # --- findings and fixes ------------------------------------------------------------------
    def finding(self, node: cst.CSTNode, message: str, fix: Fix | None = None) -> Finding:
        start, end = self.span(node)
        return Finding(self.rule.code, self.rule.name, message, start, end, fix)

    def replace(self, node: cst.CSTNode, content: str) -> Edit:
        start, end = self.span(node)
        return Edit(start, end, content)

    def text_with(self, start: int, end: int, replacements: list[tuple[cst.CSTNode, str]]) -> str:
        """source[start:end] with each node in `replacements` (all inside it) replaced by its text."""
        out, cursor = [], start
        for node, text in sorted(replacements, key=lambda r: self.span(r[0])[0]):
            node_start, node_end = self.span(node)
            out += [self.source[cursor:node_start], text]
            cursor = node_end
        out.append(self.source[cursor:end])
        return "".join(out)

    def rewrite_expressions(self, replacements: list[tuple[cst.CSTNode, str]]) -> list[Edit]:
        """Replace expressions; each statement they sit in is re-rendered once, through black."""
        by_statement: dict[int, tuple[cst.CSTNode, list]] = {}
        edits = []
        for node, text in replacements:
            statement = next((a for a in self.ancestors(node) if isinstance(a, cst.SimpleStatementLine)), None)
            if statement is None:
                edits.append(self.replace(node, text))
            else:
                by_statement.setdefault(id(statement), (statement, []))[1].append((node, text))
        for statement, group in by_statement.values():
            start, end = self.span(statement)
            edits.append(Edit(start, end, self.render(self.text_with(start, end, group), statement)))
        return edits

    def render(self, code: str, at: cst.CSTNode) -> str:
        """Black-formatted `code` to replace the statement(s) beginning at `at`."""
        return codegen.render(code, self.settings.line_length, self.indent_of(at), self.settings.target_version)

    def library(self) -> Library:
        return Library(self)

    def name_for(self, qualified: str) -> tuple[str, list[Edit]]:
        """How to write `qualified` here, and the import edit to add when the file lacks one."""
        spelled = self.index.spelling(qualified)
        if spelled is not None:
            return spelled, []
        module, alias = self._module_to_import(qualified)
        spelled = alias + qualified[len(module) :]
        return spelled, [self._import_edit(module, alias)]

    def _module_to_import(self, qualified: str) -> tuple[str, str]:
        module = next(
            (m for m in sorted(PREFERRED_ALIASES, key=len, reverse=True) if qualified.startswith(m + ".")),
            qualified.partition(".")[0],
        )
        if module in self._reserved:
            return module, self._reserved[module]
        taken = self.index.names | set(self._reserved.values())
        candidates = [PREFERRED_ALIASES.get(module, module.rpartition(".")[2]), module.replace(".", "_")]
        alias = next((a for a in candidates if a not in taken), "_" + candidates[-1])
        if "." in module and alias == module:
            alias = module.replace(".", "_")
        self._reserved[module] = alias
        return module, alias

    def _import_edit(self, module: str, alias: str) -> Edit:
        """The import, placed in the file's top-level import block where isort and ruff would sort
        it: by section (future, standard library, the rest), `import` before `from`, then by name."""
        line = codegen.import_statement(module, alias)
        block = [s for s in self.index.import_statements if any(s is b for b in self.module.body)]
        if not block:
            offset = self._top_insertion_offset()
            return Edit(offset, offset, line + "\n")
        key = codegen.import_sort_key(line)
        keys = [codegen.import_sort_key(self.module.code_for_node(s).strip()) for s in block]
        later = next((i for i, k in enumerate(keys) if k > key), None)
        if later is None or (later > 0 and keys[later - 1][0] == key[0]):
            before = len(block) - 1 if later is None else later - 1
            end = self.line_end(self.span(block[before])[1])
            return Edit(end, end, ("\n" if keys[before][0] == key[0] else "\n\n") + line)
        start = self.lines.starts[self.lines.position(self.span(block[later])[0]).row - 1]
        return Edit(start, start, line + ("\n" if keys[later][0] == key[0] else "\n\n"))

    def _top_insertion_offset(self) -> int:
        """After a module docstring, before the first statement."""
        body = self.module.body
        first = body[0] if body else None
        if first is None:
            return len(self.source)
        if _is_docstring(first) and len(body) > 1:
            first = body[1]
        start, _ = self.span(first)
        return start - len(self.indent_of(first))


class Library:
    """Spellings of the library names one fix's code needs, and the imports that fix must add."""

    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.edits: list[Edit] = []

    def __call__(self, qualified: str) -> str:
        spelled, edits = self.ctx.name_for(qualified)
        self.edits += [e for e in edits if e not in self.edits]
        return spelled


def _is_docstring(stmt: cst.CSTNode) -> bool:
    return (
        isinstance(stmt, cst.SimpleStatementLine)
        and len(stmt.body) == 1
        and isinstance(stmt.body[0], cst.Expr)
        and isinstance(stmt.body[0].value, (cst.SimpleString, cst.ConcatenatedString))
    )


def candidate_rules(source: str, rules: list[Rule], settings: Settings) -> list[Rule]:
    """The rules that may fire in `source`, by ever cheaper-to-fail tests; libcst only parses after.

    Rules resolve names through the file's own imports, so a file that mentions neither jax nor
    equinox cannot have a finding. Each rule's regexes then run on the text; a file that passes
    some is parsed by `ast` for the rules' `ast` conditions (a file `ast` cannot parse goes on to
    libcst, which reports its syntax errors). Files that fail every test are never parsed.
    """
    # What `from common import *` brings in counts as written here (`eqx` from common's imports).
    reach = " ".join([source, *star_imported(source, settings.project_star_exports)])
    if "jax" not in reach and "equinox" not in reach:
        return []
    rules = [rule for rule in rules if rule.may_match_text(source, settings)]
    if any(rule.needs_module for rule in rules) and not _reaches_modules(reach, settings.project_module_classes):
        rules = [rule for rule in rules if not rule.needs_module]
    if not rules:
        return rules
    tree = _ast_parse(source)
    if tree is None:
        return rules
    found = features(tree, settings.project_jitted)
    return [rule for rule in rules if rule.candidate(found)]


IDENTIFIER = re.compile(r"[A-Za-z_]\w*")


def _reaches_modules(source: str, module_classes: frozenset[str]) -> bool:
    """Whether an eqx.Module class can appear here: through equinox, or a project class by name."""
    return "equinox" in source or not module_classes.isdisjoint(IDENTIFIER.findall(source))


def check_rules(source: str, module: cst.Module, rules: list[Rule], settings: Settings) -> list[Finding]:
    if skips_file(source):
        return []
    index = ModuleIndex(module, settings.project_module_classes, settings.project_star_exports)
    metadata = LazyMetadata(module)
    lines = Lines(source)
    findings: list[Finding] = []
    for rule in rules:
        findings.extend(rule.check(Context(source, module, index, settings, rule, metadata, lines)))
    if not findings:
        return findings
    suppressions = Suppressions.from_source(source)
    return [f for f in findings if not suppressions.suppresses(lines.position(f.start).row, f.code)]


@contextlib.contextmanager
def _collection_paused() -> Iterator[None]:
    """No cyclic garbage collection while one file is analysed: a tree is millions of objects that
    live until the end, which each full collection would walk again (a quarter of a large file's
    time), and they hold no cycles worth collecting sooner."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def analyse(source: str, settings: Settings, fix: bool = False, use_filters: bool = True) -> Analysis:
    """Findings for `source`; with `fix`, the fixed source and the findings left in it.

    `use_filters=False` runs every rule on every file: the reference the filters are tested against.
    """
    with _collection_paused():
        return _analyse(source, settings, fix, use_filters)


def _analyse(source: str, settings: Settings, fix: bool, use_filters: bool) -> Analysis:
    rules = settings.rules()
    if use_filters:
        rules = candidate_rules(source, rules, settings)
        if not rules:
            return Analysis([], source)
    module = parse(source)
    findings = check_rules(source, module, rules, settings)
    if not (fix and any(settings.fixable(f) for f in findings)):
        return Analysis(locate(findings, source), source)
    fixed, applied = _fix_to_fixpoint(source, module, rules, settings)
    remaining = check_rules(fixed, parse(fixed), settings.rules(), settings)
    return Analysis(locate(remaining, fixed), fixed, applied, locate(findings, source))


def _fix_to_fixpoint(source: str, module: cst.Module, rules: list[Rule], settings: Settings) -> tuple[str, int]:
    applied = 0
    for _ in range(MAX_FIX_PASSES):
        changed = False
        for rule in rules:
            fixes = [f.fix for f in check_rules(source, module, [rule], settings) if settings.fixable(f) and _editable(f.fix, source, settings)]
            edits, count = _compatible_edits(fixes)
            if not edits:
                continue
            new_source = apply_edits(source, edits, module.default_newline)
            try:
                module = parse(new_source)
            except ParseError as exc:
                raise InternalError(
                    f"{rule.code} produced a fix that does not parse ({exc.message} at line {exc.row}); "
                    "the file was left as it was"
                ) from None
            source, applied, changed = new_source, applied + count, True
        if not changed:
            break
    return source, applied


def _editable(fix: Fix, source: str, settings: Settings) -> bool:
    frozen = settings.frozen
    return frozen is None or not any(frozen(source, e.start) or frozen(source, e.end) for e in fix.edits)


def _compatible_edits(fixes: list[Fix | None]) -> tuple[list[Edit], int]:
    """The edits of as many fixes as apply together; the rest wait for the next pass."""
    chosen: list[Edit] = []
    count = 0
    for fix in fixes:
        assert fix is not None
        new = [e for e in dict.fromkeys(fix.edits) if e not in chosen]  # fixes may share an import
        if any(_overlap(a, b) for i, a in enumerate(new) for b in new[i + 1 :]):
            continue  # a fix at odds with itself is a bug of the rule: never splice it
        if any(_overlap(a, b) for a in new for b in chosen):
            continue
        chosen.extend(new)
        count += 1
    return sorted(chosen), count


def _overlap(a: Edit, b: Edit) -> bool:
    return a.start < b.end and b.start < a.end


def apply_edits(source: str, edits: list[Edit], newline: str = "\n") -> str:
    out: list[str] = []
    cursor = 0
    for edit in sorted(edits):
        out.append(source[cursor : edit.start])
        # Content may carry source text with its own newlines: normalise, never double a "\r".
        out.append(NEWLINE.sub(newline, edit.content))
        cursor = edit.end
    out.append(source[cursor:])
    return "".join(out)


def apply_located(source: str, edits: Iterable[LocatedEdit]) -> str:
    """The inverse of `locate` for one fix: its row/column edits applied to the source they point into,
    with the source's own newline, as `_fix_to_fixpoint` applies them."""
    lines = Lines(source)
    offsets = [
        Edit(lines.offset(e.location.row, e.location.col - 1), lines.offset(e.end_location.row, e.end_location.col - 1), e.content)
        for e in edits
    ]
    return apply_edits(source, offsets, parse(source).default_newline)


def locate(findings: list[Finding], source: str) -> list[Diagnostic]:
    lines = Lines(source)
    result = []
    for f in sorted(findings, key=lambda f: (f.start, f.code)):
        edits = tuple(
            LocatedEdit(e.content, lines.position(e.start), lines.position(e.end)) for e in (f.fix.edits if f.fix else ())
        )
        result.append(
            Diagnostic(
                f.code,
                f.name,
                f.message,
                lines.position(f.start),
                lines.position(f.end),
                f.fix.safety.value if f.fix else None,
                f.fix.message if f.fix else None,
                edits,
            )
        )
    return result
