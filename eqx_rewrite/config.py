"""`[tool.eqx-rewrite]` in pyproject.toml: found, validated, and merged with the command line."""

from __future__ import annotations

import re
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

from .files import resolved_path
from .engine import Settings
from .rule import ALL, RuleSelection, all_rules
from .toml_lines import key_line

DEFAULT_LINE_LENGTH = 88
TARGET_VERSIONS = ("py310", "py311", "py312", "py313", "py314")  # oldest first
# A lower bound in `requires-python`: `>=3.11`, `~=3.11`, `==3.11.*`, `>3.10.2`.
LOWER_BOUND = re.compile(r"(>=|~=|===?|>)\s*3\.(\d+)")


class ConfigError(Exception):
    """Bad configuration: a one-line message naming the file, line and key."""


@dataclass
class Config:
    path: Path | None = None
    src: list[str] = field(default_factory=lambda: ["."])
    select: list[str] = field(default_factory=lambda: ["EQX"])
    extend_select: list[str] = field(default_factory=list)
    ignore: list[str] = field(default_factory=list)
    exclude: list[str] = field(default_factory=list)
    extend_exclude: list[str] = field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = field(default_factory=dict)
    unsafe_fixes: bool = False
    respect_gitignore: bool = True
    doc_blocks: bool = False  # also find .md and .rst pages, for their Python code blocks
    line_length: int = DEFAULT_LINE_LENGTH
    target_version: str = TARGET_VERSIONS[-1]
    rule_options: dict[str, dict[str, Any]] = field(default_factory=dict)
    verify: dict[str, Any] = field(default_factory=dict)  # [tool.eqx-rewrite.verify], validated

    @property
    def root(self) -> Path:
        return self.path.parent if self.path else Path.cwd()

    def settings(self, select=(), extend_select=(), ignore=(), unsafe_fixes: bool | None = None, target_version: str | None = None) -> Settings:
        """The engine's settings, with the command line's codes layered over the configuration, as
        in ruff: `select` replaces the configured selection (its extend-select included), and
        ignoring ALL drops it. The CLI and the editor server build them here, alike."""
        chosen = list(select) or ([] if ALL in ignore else self.select + self.extend_select)
        return Settings(
            selection=RuleSelection(tuple(chosen + list(extend_select)), tuple(self.ignore + list(ignore))),
            unsafe_fixes=self.unsafe_fixes if unsafe_fixes is None else unsafe_fixes,
            line_length=self.line_length,
            target_version=target_version or self.target_version,
            rule_options=self.rule_options,
        )


def _str_list(value: Any) -> bool:
    return isinstance(value, list) and all(isinstance(v, str) for v in value)


# key -> (attribute, validator, what a valid value is)
KEYS = {
    "src": ("src", _str_list, "a list of paths"),
    "select": ("select", _str_list, "a list of rule codes or prefixes"),
    "extend-select": ("extend_select", _str_list, "a list of rule codes or prefixes"),
    "ignore": ("ignore", _str_list, "a list of rule codes or prefixes"),
    "exclude": ("exclude", _str_list, "a list of glob patterns"),
    "extend-exclude": ("extend_exclude", _str_list, "a list of glob patterns"),
    "per-file-ignores": (
        "per_file_ignores",
        lambda v: isinstance(v, dict) and all(_str_list(c) for c in v.values()),
        "a table of glob = [codes]",
    ),
    "unsafe-fixes": ("unsafe_fixes", lambda v: isinstance(v, bool), "true or false"),
    "respect-gitignore": ("respect_gitignore", lambda v: isinstance(v, bool), "true or false"),
    "doc-blocks": ("doc_blocks", lambda v: isinstance(v, bool), "true or false"),
    "line-length": ("line_length", lambda v: isinstance(v, int) and not isinstance(v, bool) and 20 <= v <= 320, "an integer from 20 to 320"),
    "target-version": ("target_version", lambda v: v in TARGET_VERSIONS, "one of " + ", ".join(TARGET_VERSIONS)),
}


def find_config(start: Path) -> Path | None:
    """The nearest pyproject.toml with a `[tool.eqx-rewrite]` table, walking up from `start`."""
    return next((p for p in _pyprojects(start) if "eqx-rewrite" in p.read_text(encoding="utf-8", errors="replace")), None)


def _pyprojects(start: Path):
    """The pyproject.toml files in `start`'s folder and above it, nearest first."""
    here = resolved_path(start)
    if here.is_file() or not here.exists():
        here = here.parent
    return (folder / "pyproject.toml" for folder in (here, *here.parents) if (folder / "pyproject.toml").is_file())


def load_config(path: Path | None, start: Path | None = None) -> Config:
    """`start`: where the search for `path` began; without a configuration, the nearest
    pyproject.toml there still gives generated code its formatter's line length."""
    if path is None:
        nearest = next(_pyprojects(start), None) if start is not None else None
        if nearest is None:
            return Config()
        data = _read_toml(nearest)
        return Config(line_length=_project_line_length(data), target_version=_project_target_version(data))
    data = _read_toml(path)
    table = data.get("tool", {}).get("eqx-rewrite", {})
    config = Config(path=path)
    config.line_length = _project_line_length(data)
    config.target_version = _project_target_version(data)
    text = path.read_text(encoding="utf-8", errors="replace")
    for key, value in table.items():
        if key in KEYS:
            attribute, valid, expected = KEYS[key]
            if not valid(value):
                raise ConfigError(f"{_where(path, text, key)}: `{key}` must be {expected}, got {value!r}")
            setattr(config, attribute, value)
        elif key == "verify":
            config.verify = _verify_table(path, text, value)
        elif key.upper() in _rule_codes():
            config.rule_options[key.upper()] = _rule_options(path, text, key, value)
        else:
            raise ConfigError(f"{_where(path, text, key)}: unknown key `{key}` in [tool.eqx-rewrite]")
    for key in ("select", "extend-select", "ignore"):
        attribute = KEYS[key][0]
        check_codes(getattr(config, attribute), f"{_where(path, text, key)}: `{key}`")
        # Rule codes are matched as upper case, as flags are.
        setattr(config, attribute, [code.upper() for code in getattr(config, attribute)])
    for pattern, codes in config.per_file_ignores.items():
        check_codes(codes, f"{_where(path, text, 'per-file-ignores', pattern)}: `per-file-ignores` for {pattern!r}")
        config.per_file_ignores[pattern] = [code.upper() for code in codes]
    return config


def check_codes(codes: list[str], where: str) -> None:
    known = _rule_codes()
    for code in codes:
        if code.upper() != ALL and not any(k.startswith(code.upper()) for k in known):
            raise ConfigError(f"{where}: unknown rule code or prefix {code!r}")


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None
    except OSError as exc:
        raise ConfigError(f"{path}: cannot read: {exc.strerror or exc}") from None


def _project_line_length(data: dict[str, Any]) -> int:
    """Generated code follows the project's formatter: eqx-rewrite's own setting, else black's, else ruff's."""
    tool = data.get("tool", {})
    for table in (tool.get("eqx-rewrite", {}), tool.get("black", {}), tool.get("ruff", {})):
        value = table.get("line-length")
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return DEFAULT_LINE_LENGTH


def _project_target_version(data: dict[str, Any]) -> str:
    """The oldest Python `[project] requires-python` admits, as ruff reads it; the newest without one."""
    requires = data.get("project", {}).get("requires-python")
    return target_from_requires(requires) if isinstance(requires, str) else TARGET_VERSIONS[-1]


def target_from_requires(requires: str) -> str:
    """`>=3.11,<4` -> py311. Every lower bound must hold, so the highest one decides; versions
    outside the supported range are clamped to it."""
    minors = [int(minor) + (op == ">" and not _has_patch(requires, minor)) for op, minor in LOWER_BOUND.findall(requires)]
    if not minors:
        return TARGET_VERSIONS[-1]
    oldest = int(TARGET_VERSIONS[0][3:])
    return TARGET_VERSIONS[min(max(max(minors) - oldest, 0), len(TARGET_VERSIONS) - 1)]


def _has_patch(requires: str, minor: str) -> bool:
    """`>3.10.2` admits 3.10.3; `>3.10` admits only 3.11 on."""
    return re.search(rf">\s*3\.{minor}\.\d", requires) is not None


def _rule_codes() -> dict[str, Any]:
    return {rule.code: rule for rule in all_rules()}


def _rule_options(path: Path, text: str, table: str, value: Any) -> dict[str, Any]:
    """`table`: the rule's code as written (any case)."""
    code = table.upper()
    rule = _rule_codes()[code]
    if not isinstance(value, dict):
        raise ConfigError(f"{_where(path, text, table)}: `{code}` must be a table of options")
    for key, option_value in value.items():
        option = rule.options.get(key)
        where = _where(path, text, table, key)
        if option is None:
            known = ", ".join(sorted(rule.options)) or "none"
            raise ConfigError(f"{where}: unknown option `{key}` for {code} (known: {known})")
        if not isinstance(option_value, option.kind) or isinstance(option_value, bool) != (option.kind is bool):
            raise ConfigError(f"{where}: `{code}.{key}` must be {option.kind.__name__}")
        if not option.validate(option_value):
            raise ConfigError(f"{where}: `{code}.{key}` = {option_value!r} is out of range")
    return dict(value)


def _number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


DEVICES = ("cpu", "gpu", "tpu")
# key -> (validator, what a valid value is)
VERIFY_KEYS = {
    "entries": (_str_list, "a list of \"path/to/file.py:function\" entries"),
    "cmd": (lambda v: isinstance(v, str) and v.strip() != "", "a command line"),
    "timeout": (lambda v: _number(v) and v > 0, "a positive number of seconds"),
    "device": (lambda v: v in DEVICES, " or ".join(DEVICES)),
    "rtol": (lambda v: _number(v) and v >= 0, "a non-negative number"),
    "atol": (lambda v: _number(v) and v >= 0, "a non-negative number"),
}


def _verify_table(path: Path, text: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise ConfigError(f"{_where(path, text, 'verify')}: `verify` must be a table")
    for key, item in value.items():
        if key not in VERIFY_KEYS:
            known = ", ".join(VERIFY_KEYS)
            raise ConfigError(f"{_where(path, text, 'verify', key)}: unknown key `{key}` in [tool.eqx-rewrite.verify] (known: {known})")
        valid, expected = VERIFY_KEYS[key]
        if not valid(item):
            raise ConfigError(f"{_where(path, text, 'verify', key)}: `verify.{key}` must be {expected}, got {item!r}")
    return dict(value)


def _where(path: Path, text: str, *keys: str) -> str:
    """`path:line` of `[tool.eqx-rewrite]`'s key `keys` (a key of a sub-table after its table's), so
    the user can jump to it."""
    line = key_line(text, ("tool", "eqx-rewrite", *keys))
    return f"{path}:{line}" if line else str(path)
