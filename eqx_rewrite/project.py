"""What one file cannot know alone: which classes across the run's files are eqx.Module subclasses."""

from __future__ import annotations

import re
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
