"""Run every entry before and after the fixes, compare, find what broke, and decide what may be written."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from ..engine import Diagnostic, apply_located
from ..rule import all_rules
from ..runner import FileResult
from .compare import Comparison, compare
from .sandbox import Observation, Sandbox, SandboxError

COMMAND_LABEL = "--verify-cmd"


class VerifyError(Exception):
    """A --verify setting that cannot work (an entry outside the project, no entries): one line, exit 2."""


@dataclass(frozen=True)
class Entry:
    file: str  # relative to the project root, POSIX separators
    func: str

    @property
    def label(self) -> str:
        return f"{self.file}:{self.func}"


@dataclass(frozen=True)
class VerifySpec:
    root: Path
    entries: tuple[Entry, ...] = ()
    command: str | None = None
    timeout: float = 300.0
    device: str | None = None
    rtol: float | None = None
    atol: float | None = None
    unsafe_fixes: bool = False


@dataclass
class Check:
    """One entry (or the verify command) on both sides."""

    label: str
    before: Observation
    after: Observation
    comparison: Comparison | None = None  # None for the command, and when either side failed

    @property
    def informative(self) -> bool:
        """A check that fails on the original code says nothing about the fixes."""
        return self.before.ok

    @property
    def passed(self) -> bool:
        if not self.before.ok:
            return True
        return self.after.ok and (self.comparison is None or self.comparison.ok)

    def problem(self) -> str:
        if not self.after.ok:
            return f"{self.label} fails after the rewrite:\n{indent(self.after.error)}"
        assert self.comparison is not None
        return f"{self.label} returns a different result: {self.comparison.message}"


@dataclass
class Verdict:
    path: Path
    relative: str
    verified: bool
    reason: str = ""
    codes: list[str] = field(default_factory=list)
    checks: list[Check] = field(default_factory=list)


@dataclass
class Verification:
    verdicts: list[Verdict]
    broken: list[Check]  # checks that fail on the original code: reported, they verify nothing


def parse_entry(text: str, root: Path, base: Path) -> Entry:
    """`path/to/file.py:func`, relative to `base` (the working folder, or the config's folder)."""
    file, sep, func = text.rpartition(":")
    if not sep or not file or not func.isidentifier():
        raise VerifyError(f"verify entry {text!r} must look like path/to/file.py:function")
    path = (base / file).resolve()
    if not path.is_file():
        raise VerifyError(f"verify entry {text!r}: no such file {file}")
    try:
        relative = path.relative_to(root.resolve()).as_posix()
    except ValueError:
        raise VerifyError(f"verify entry {text!r} lies outside the project root {root}") from None
    return Entry(relative, func)


def verify(results: list[FileResult], spec: VerifySpec) -> Verification:
    """Verdicts for every changed file; nothing is written here."""
    changed = {_relative(r.path, spec.root): r for r in results if r.changed and r.error is None and r.original is not None}
    if not changed:
        return Verification([], [])
    if not spec.entries and not spec.command:
        raise VerifyError("--verify needs something to run: --verify-entry FILE:FUNC, --verify-cmd, or [tool.eqx-rewrite.verify] entries")
    try:
        sandbox = Sandbox(spec.root, _environment(spec), spec.timeout)
    except SandboxError as exc:
        raise VerifyError(str(exc)) from None
    with sandbox:
        return _Verifier(sandbox, spec, changed).run()


class _Verifier:
    def __init__(self, sandbox: Sandbox, spec: VerifySpec, changed: dict[str, FileResult]):
        self.sandbox, self.spec, self.changed = sandbox, spec, changed
        self.layout_codes = {r.code for r in all_rules() if r.changes_layout}
        self.baseline: dict[str, Observation] = {}
        self.relevant: list[str] = []

    def run(self) -> Verification:
        with self.sandbox.tree({}) as before:
            self.baseline = {label: self._observe(before, label) for label in self._labels()}
        # An entry that imports none of the changed files cannot see the fixes: it is not run again.
        self.relevant = [
            label for label, seen in self.baseline.items()
            if label == COMMAND_LABEL or not seen.ok or set(seen.files) & set(self.changed)
        ]
        checks = self._checks(self._fixed(self.changed))
        failing = [c for c in checks if not c.passed]
        held: dict[str, str] = {}
        if failing:
            held = self._blame(failing)
            kept = {rel: r for rel, r in self.changed.items() if rel not in held}
            if kept and not all(c.passed for c in self._checks(self._fixed(kept), [c.label for c in failing])):
                held.update({rel: "its fixes pass alone but fail together with the others: " + failing[0].problem() for rel in kept})
        verdicts = [self._verdict(rel, checks, held.get(rel)) for rel in self.changed]
        return Verification(verdicts, [c for c in checks if not c.informative])

    def _labels(self) -> list[str]:
        return [e.label for e in self.spec.entries] + ([COMMAND_LABEL] if self.spec.command else [])

    def _observe(self, tree: Path, label: str) -> Observation:
        if label == COMMAND_LABEL:
            assert self.spec.command is not None
            return self.sandbox.run_command(tree, self.spec.command)
        file, _, func = label.rpartition(":")
        return self.sandbox.run_entry(tree, file, func)

    def _checks(self, swaps: dict[str, bytes], labels: list[str] | None = None) -> list[Check]:
        checks = []
        with self.sandbox.tree(swaps) as tree:
            for label in labels or self.relevant:
                before = self.baseline[label]
                after = self._observe(tree, label) if before.ok else Observation(False, "not run: fails on the original code")
                checks.append(Check(label, before, after, self._compare(label, before, after, swaps)))
        return checks

    def _compare(self, label: str, before: Observation, after: Observation, swaps: dict[str, bytes]) -> Comparison | None:
        if label == COMMAND_LABEL or not (before.ok and after.ok):
            return None
        codes = {d.code for rel in swaps for d in self.changed[rel].found or ()} if swaps else set()
        return compare(before.leaves, after.leaves, self.spec.rtol, self.spec.atol, bool(codes & self.layout_codes))

    def _fixed(self, results: dict[str, FileResult]) -> dict[str, bytes]:
        return {rel: _encoded(r, r.fixed_source or "") for rel, r in results.items()}

    def _blame(self, failing: list[Check]) -> dict[str, str]:
        """Changed files whose fixes alone break a failing check, with the reason and the fix responsible."""
        labels = [c.label for c in failing]
        held = {}
        for rel, result in self.changed.items():
            if not any(self._covers(c, rel) for c in failing):
                continue
            alone = [c for c in self._checks(self._fixed({rel: result}), labels) if not c.passed]
            if alone:
                held[rel] = alone[0].problem() + self._responsible(rel, result, labels)
        return held

    def _responsible(self, rel: str, result: FileResult, labels: list[str]) -> str:
        """Apply the file's fixes one by one to find the one that breaks it."""
        fixes = [d for d in result.found or () if d.edits and self._applied(d)]
        if len(fixes) == 1:
            return _responsible_fix(fixes[0])
        if result.path.suffix != ".py":
            return ""  # a notebook's fixes are placed in cells, not in the file's text
        for d in fixes:
            text = apply_located(result.source, d.edits)
            if not all(c.passed for c in self._checks({rel: _encoded(result, text)}, labels)):
                return _responsible_fix(d)
        return "\n  no single fix fails on its own: they fail in combination"

    def _applied(self, d: Diagnostic) -> bool:
        return d.fix_safety == "safe" or (d.fix_safety == "unsafe" and self.spec.unsafe_fixes)

    def _covers(self, check: Check, rel: str) -> bool:
        # The command's coverage cannot be known: it counts for every file.
        return check.label == COMMAND_LABEL or rel in check.before.files or rel in check.after.files

    def _verdict(self, rel: str, checks: list[Check], held: str | None) -> Verdict:
        result = self.changed[rel]
        codes = sorted({d.code for d in result.found or () if d.edits and self._applied(d)})
        mine = [c for c in checks if c.informative and self._covers(c, rel)]
        if held is not None:
            return Verdict(result.path, rel, False, held, codes, mine)
        if not mine and rel.endswith(".ipynb"):
            return Verdict(result.path, rel, False, "entries cannot import a notebook; verify it with --verify-cmd (e.g. jupyter nbconvert --execute)", codes, mine)
        if not mine:
            return Verdict(result.path, rel, False, "no entry that runs on the original code imports it, so its fixes were not run", codes, mine)
        return Verdict(result.path, rel, True, "", codes, mine)


def _environment(spec: VerifySpec) -> dict[str, str]:
    """The user's environment, minus what would make the two sides differ or import the originals."""
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env.update(PYTHONHASHSEED="0", PYTHONDONTWRITEBYTECODE="1", JAX_ENABLE_COMPILATION_CACHE="false")
    if spec.device:
        env["JAX_PLATFORMS"] = spec.device
    return env


def _relative(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root.resolve()).as_posix()
    except ValueError:
        raise VerifyError(f"{path}: --verify works on files inside the project root {root}") from None


def _encoded(result: FileResult, text: str) -> bytes:
    assert result.original is not None
    return text.encode(result.original.encoding)


def _responsible_fix(d: Diagnostic) -> str:
    cell = f"cell {d.cell}, " if d.cell is not None else ""
    return f"\n  responsible fix: {d.code} at {cell}line {d.location.row} ({d.fix_message})"


def indent(text: str) -> str:
    """Tracebacks and command output, set off under the line that introduces them."""
    return "\n".join("    " + line for line in text.splitlines())
