"""Generated code: rendered through black at the project's line length, indented to where it goes."""

from __future__ import annotations

import functools
import sys
import textwrap

MIN_WIDTH = 40


# Black takes ~5 ms a call; rules render the same code for alike findings, and again on every
# pass of --fix's fixpoint, and black's output depends on nothing but these arguments.
@functools.lru_cache(maxsize=4096)
def render(code: str, line_length: int, indent: str = "", target_version: str | None = None) -> str:
    """`code` formatted by black for a line of `line_length` that starts at `indent`, for every
    Python from `target_version` (`py311`) on.

    Every line but the first carries `indent`: the first is spliced in where the replaced node began,
    after the indentation that is already there.
    """
    import black  # only fixes need black; a plain --check never pays for the import

    code = textwrap.dedent(code)
    if indent:
        # Inside a block black spaces nested defs by one blank line, not two: give it that context.
        code = "def _eqx_rewrite_block():\n" + textwrap.indent(code, "    ")
    width = max(line_length - len(indent) + (4 if indent else 0), MIN_WIDTH)
    mode = black.Mode(line_length=width, target_versions=_black_targets(black, target_version))
    formatted = black.format_str(code, mode=mode).rstrip("\n")
    if indent:
        formatted = textwrap.dedent(formatted.split("\n", 1)[1])
    lines = formatted.split("\n")
    return "\n".join([lines[0]] + [indent + line if line else line for line in lines[1:]])


def import_statement(module: str, alias: str | None) -> str:
    if alias is None or alias == module:
        return f"import {module}"
    return f"import {module} as {alias}"


def import_sort_key(statement: str) -> tuple[int, int, str]:
    """(section, kind, module) of an import statement, in isort's default order: `__future__`,
    the standard library, then everything else; `import x` before `from x import y`."""
    words = statement.split()
    kind = 1 if words and words[0] == "from" else 0
    module = words[1] if len(words) > 1 else ""
    top = module.partition(".")[0]
    if top == "__future__":
        section = 0
    elif top in sys.stdlib_module_names:
        section = 1
    else:
        section = 3 if module.startswith(".") else 2
    return section, kind, module.lower()


def _black_targets(black, target_version: str | None) -> set:
    """Black's versions from the target on; empty (black infers them) without one, or when this
    black does not know it."""
    if target_version is None or not hasattr(black.TargetVersion, target_version.upper()):
        return set()
    oldest = black.TargetVersion[target_version.upper()]
    return {v for v in black.TargetVersion if v.value >= oldest.value}
