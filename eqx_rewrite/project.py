"""What one file cannot know alone: which classes across the run's files are eqx.Module subclasses,
and which functions they compile with jit."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Iterable

CLASS = re.compile(r"^[ \t]*class[ \t]+(\w+)[ \t]*\(([^)]*)\)[ \t]*:", re.MULTILINE)
MODULE_BASE = re.compile(r"^(?:\w+\.)*Module$")


def module_class_names(texts: Iterable[str]) -> frozenset[str]:
    """Names of classes that subclass `equinox.Module`, directly or through other project classes.

    A regex over the text, not a parse: it must cost next to nothing on trees that are mostly not
    Equinox code. Names are matched by their last component, so two unrelated classes sharing a
    name in one run can be confused; rules still check everything else about a candidate.
    """
    bases: dict[str, set[str]] = {}
    modules: set[str] = set()
    for text in texts:
        mentions_equinox = "equinox" in text
        for name, base_list in CLASS.findall(text):
            parents = {b.strip().rpartition(".")[2] for b in base_list.split(",") if b.strip() and "=" not in b}
            bases.setdefault(name, set()).update(parents)
            if mentions_equinox and any(MODULE_BASE.match(b.strip()) for b in base_list.split(",")):
                modules.add(name)
    changed = True
    while changed:
        changed = False
        for name, parents in bases.items():
            if name not in modules and parents & modules:
                modules.add(name)
                changed = True
    return frozenset(modules)


# `@eqx.filter_jit` / `@partial(jax.jit, ...)` over a `def`, or `name = jax.jit(...)`, unindented.
JITTED = re.compile(
    r"^(?:@[\w.]*(?:partial\([\w.]*)?jit\b[^\n]*\n(?:@[^\n]*\n)*(?:async[ \t]+)?def[ \t]+(\w+)|(\w+)[ \t]*=[ \t]*[\w.]*jit\()",
    re.MULTILINE,
)


def jitted_functions(files: Iterable[tuple[Path, str]]) -> frozenset[tuple[str, str]]:
    """(module, function) for each module-level function a file of the run compiles with jit.

    `module` is the file's last dotted component (its stem, or its package for `__init__.py`): what an
    import of it ends with. Only unindented definitions count, so the regex stays one cheap pass.
    """
    found: set[tuple[str, str]] = set()
    packages = []
    for path, text in files:
        if path.stem == "__init__":
            packages.append((path.parent.name, text))
        if "jit" not in text:
            continue
        module = _module_name(path)
        found.update((module, decorated or assigned) for decorated, assigned in JITTED.findall(text))
    return frozenset(found | _reexported(packages, found))


# `from .train import make_step, evaluate as ev` in a package's `__init__.py`.
REEXPORT = re.compile(r"^from[ \t]+\.(\w+)[ \t]+import[ \t]+\(?([\w \t,\n]+?)\)?[ \t]*$", re.MULTILINE)


def _module_name(path: Path) -> str:
    """What an import of the file ends with: its stem, or its package for `__init__.py`."""
    return path.parent.name if path.stem == "__init__" else path.stem


def _reexported(packages: list[tuple[str, str]], found: set[tuple[str, str]]) -> set[tuple[str, str]]:
    """A package's re-exports of jitted functions: `from pkg import make_step` reaches them too."""
    more = set()
    for package, text in packages:
        for module, names in REEXPORT.findall(text):
            for item in names.replace("\n", " ").split(","):
                name, _, alias = item.strip().partition(" as ")
                if (module, name.strip()) in found:
                    more.add((package, (alias or name).strip()))
    return more


STAR_IMPORT = re.compile(r"^[ \t]*from[ \t]+([.\w]+)[ \t]+import[ \t]+\*", re.MULTILINE)


# `import equinox as eqx`, `import jax.numpy as jnp`, `import jax`, unindented.
MODULE_IMPORT = re.compile(r"^import[ \t]+([\w.]+)(?:[ \t]+as[ \t]+(\w+))?[ \t]*(?:#.*)?$", re.MULTILINE)


def star_exports(files: Iterable[tuple[Path, str]]) -> frozenset[tuple[str, str, str]]:
    """(module, name, what it names) for each module a file of the run imports at its top level:
    what `from common import *` brings into another file (scripts share `eqx`, `jnp` and `jrandom`
    that way). `module` is the file's stem, as for `jitted_functions`; only plain `import` lines
    count, which name modules, not objects whose meaning would need the file parsed."""
    files = list(files)
    # Only modules some file star-imports: the index is part of the cache key, and must not change
    # with every file the run happens to include.
    wanted = {stem for _, text in files for stem in _star_imported_stems(text)}
    found: set[tuple[str, str, str]] = set()
    for path, text in files:
        module = _module_name(path)
        if module not in wanted:
            continue
        for full, alias in MODULE_IMPORT.findall(text):
            found.add((module, alias, full) if alias else (module, full.partition(".")[0], full.partition(".")[0]))
    return frozenset(found)


CLASS_LINE = re.compile(r"^([ \t]*)class[ \t]+(\w+)")
CALL_DEF = re.compile(r"^([ \t]*)def[ \t]+__call__[ \t]*\(")
KEY_WORD = re.compile(r"\bkey\b")


def key_ignoring_classes(texts: Iterable[str]) -> frozenset[str]:
    """Names of classes in the run whose `__call__` takes a `key` and never reads it: handing them
    `key=` draws nothing (EQX007), as for `eqx.nn.Linear`. A scan of lines, not a parse, as for the
    other indexes; it only ever spares a call from counting as a draw. Signatures with `**` (which
    may pass the key on) do not count."""
    found: set[str] = set()
    for text in texts:
        if "__call__" not in text:
            continue
        lines = text.split("\n")
        classes: list[tuple[int, str]] = []  # (indent, name) of the classes around the line
        for i, line in enumerate(lines):
            if not line.strip():
                continue
            depth = len(line) - len(line.lstrip())
            classes = [c for c in classes if c[0] < depth]
            if match := CLASS_LINE.match(line):
                classes.append((len(match[1]), match[2]))
            elif (match := CALL_DEF.match(line)) and classes and classes[-1][0] < len(match[1]):
                if _ignores_key(lines, i, len(match[1])):
                    found.add(classes[-1][1])
    return frozenset(found)


def _ignores_key(lines: list[str], start: int, indent: int) -> bool:
    signature, i = "", start
    while i < len(lines):
        signature += lines[i].split("#")[0]
        i += 1
        if signature.rstrip().endswith(":") and signature.count("(") == signature.count(")"):
            break
    if "**" in signature or not KEY_WORD.search(signature):
        return False
    body = []
    while i < len(lines) and (not lines[i].strip() or len(lines[i]) - len(lines[i].lstrip()) > indent):
        body.append(lines[i].split("#")[0])
        i += 1
    return not any(KEY_WORD.search(line) for line in body)


def star_imported(source: str, exports: frozenset[tuple[str, str, str]]) -> list[str]:
    """The modules `source`'s `from x import *` lines bring in, by what `star_exports` found."""
    if not exports:
        return []
    stems = _star_imported_stems(source)
    return [target for module, _, target in exports if module in stems]


def _star_imported_stems(source: str) -> set[str]:
    """The last components of the modules `from x import *` lines of `source` name."""
    return {m.rpartition(".")[2] for m in STAR_IMPORT.findall(source)} if "*" in source else set()


FROM_IMPORT = re.compile(r"^[ \t]*from[ \t]+([.\w]+)[ \t]+import[ \t]+(\([^)]*\)|[^\n#;]*)", re.MULTILINE)
PLAIN_IMPORT = re.compile(r"^[ \t]*import[ \t]+([^\n#;]*)", re.MULTILINE)


def imports_jitted(source: str, jitted: frozenset[tuple[str, str]]) -> bool:
    """Whether `source` imports one of the run's jit-compiled functions, or calls one through its module."""
    if not jitted:
        return False
    by_module = jitted_by_module(jitted)
    modules: set[str] = set()
    for module, names in FROM_IMPORT.findall(source):
        stem = module.rpartition(".")[2]
        for name in _imported_names(names):
            if (stem, name) in jitted:
                return True
            modules.add(name)
    modules.update(name.rpartition(".")[2] for line in PLAIN_IMPORT.findall(source) for name in _imported_names(line))
    return any(f".{function}(" in source for module in modules & by_module.keys() for function in by_module[module])


@functools.lru_cache(maxsize=4)
def jitted_by_module(jitted: frozenset[tuple[str, str]]) -> dict[str, list[str]]:
    """module -> its jitted functions; one run has one index, so this is built once."""
    found: dict[str, list[str]] = {}
    for module, function in jitted:
        found.setdefault(module, []).append(function)
    return found


def _imported_names(names: str) -> list[str]:
    """`a, b as c, (d)` -> ["a", "b", "d"]: the imported names, before any `as`."""
    parts = names.strip("()\\ \t\n").replace("\\\n", " ").split(",")
    return [p.split()[0] for p in parts if p.split()]
