"""What a rule is, what it reports, and the registry of rules."""

from __future__ import annotations

import enum
import inspect
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Iterator

if TYPE_CHECKING:
    from .engine import Context, Settings
    from .prefilter import Features

DOCS_URL = "https://github.com/eqx-rewrite/eqx-rewrite/blob/main/README.md#{code}"


class Safety(str, enum.Enum):
    SAFE = "safe"
    UNSAFE = "unsafe"


@dataclass(frozen=True, order=True)
class Edit:
    """Replace source[start:end] (character offsets) with `content`."""

    start: int
    end: int
    content: str


@dataclass(frozen=True)
class Fix:
    safety: Safety
    message: str
    edits: tuple[Edit, ...]


@dataclass(frozen=True)
class Finding:
    code: str
    name: str
    message: str
    start: int
    end: int
    fix: Fix | None = None


@dataclass(frozen=True)
class Option:
    """A rule option settable under `[tool.eqx-rewrite.<CODE>]`."""

    default: Any
    kind: type
    help: str
    validate: Callable[[Any], bool] = lambda value: True


class Rule:
    """A rule finds one slow or wrong pattern; its docstring is what `--explain` prints.

    The docstring has ruff's sections: What it does / Why is this bad? / Example / Use instead /
    Fix safety / Verification.
    """

    code: ClassVar[str]
    name: ClassVar[str]
    summary: ClassVar[str]
    options: ClassVar[dict[str, Option]] = {}
    # Regexes that must all match a file's text for the rule to fire there: the cheapest filter.
    needles: ClassVar[tuple[str, ...]] = ()
    # Fires only on eqx.Module classes, which a file can only reach through equinox or a project class.
    needs_module: ClassVar[bool] = False
    # Its fixes restack Modules' leaves, so --verify compares an entry's outputs, not its Modules.
    changes_layout: ClassVar[bool] = False

    @staticmethod
    def candidate(features: Features) -> bool:
        """A necessary condition on the file's `ast` features (see prefilter.py)."""
        return True

    @classmethod
    def may_match_text(cls, source: str, settings: Settings) -> bool:
        compiled = cls.__dict__.get("_compiled_needles")
        if compiled is None:
            compiled = [re.compile(n, re.MULTILINE) for n in cls.needles]
            cls._compiled_needles = compiled
        return all(c.search(source) for c in compiled)

    def check(self, ctx: Context) -> Iterator[Finding]:
        raise NotImplementedError


REGISTRY: dict[str, type[Rule]] = {}


def register(cls: type[Rule]) -> type[Rule]:
    if cls.code in REGISTRY:
        raise ValueError(f"duplicate rule code {cls.code}")
    REGISTRY[cls.code] = cls
    return cls


def all_rules() -> list[type[Rule]]:
    from . import rules  # noqa: F401  (importing the package registers every rule)

    return [REGISTRY[code] for code in sorted(REGISTRY)]


def rule_url(code: str) -> str:
    return DOCS_URL.format(code=code.lower())


def explanation(code: str) -> str | None:
    """What `--explain` prints for a rule (and the editor server shows on hover); None if unknown."""
    rule = {r.code: r for r in all_rules()}.get(code.upper())
    if rule is None:
        return None
    text = f"# {rule.code} {rule.name}\n\n{inspect.cleandoc(rule.__doc__ or '')}"
    return text + "".join(f"\n\nOption `{name}` (default {option.default!r}): {option.help}" for name, option in rule.options.items())


def doc_section(rule: type[Rule], title: str) -> str:
    """One `## title` section of the rule's docstring, without its heading; "" when it has none."""
    match = re.search(rf"^## {re.escape(title)}\n(.*?)(?=^## |\Z)", inspect.cleandoc(rule.__doc__ or ""), re.M | re.S)
    return match.group(1).strip() if match else ""
ALL = "ALL"  # every rule, as in ruff; less specific than any prefix


@dataclass
class RuleSelection:
    """Which codes are enabled: `select`/`ignore` take codes, prefixes or ALL, as in ruff."""

    select: tuple[str, ...] = ("EQX",)
    ignore: tuple[str, ...] = ()

    def enabled(self, code: str) -> bool:
        def best(prefixes: tuple[str, ...]) -> int:
            return max((0 if p == ALL else len(p) for p in prefixes if p == ALL or code.startswith(p)), default=-1)

        # The more specific of select and ignore wins, as in ruff.
        selected = best(self.select)
        ignored = best(self.ignore)
        return selected >= 0 and selected > ignored
