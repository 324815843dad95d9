"""The EQX1xx family: APIs that JAX removed or Equinox deprecated, one code per library, each entry
of the table naming the version that changed it. A fix is offered only where the replacement means
the same: the old name is an alias of the new one, with the same signature."""

from __future__ import annotations

import functools
import importlib.metadata
import re
from dataclasses import dataclass
from typing import ClassVar, Iterator

import libcst as cst

from ..index import dotted
from ..rule import Edit, Finding, Fix, Option, Rule, Safety, register
from ..walk import walk


@dataclass(frozen=True)
class Renamed:
    old: str  # qualified name
    new: str
    changed: str  # what happened, and in which version


JAX_TREE = "deprecated in JAX 0.4.26 and removed in 0.6.0: it raises `AttributeError` on a current JAX"
JAX_RENAMES = tuple(
    Renamed(f"jax.tree_{name}", f"jax.tree.{name}", JAX_TREE)
    for name in ("map", "leaves", "flatten", "unflatten", "structure", "transpose", "reduce", "all")
)
EQUINOX_RENAMES = (
    Renamed("equinox.tree_inference", "equinox.nn.inference_mode", "kept only as a backward-compatibility alias"),
)
STATIC_FIELD = "equinox.static_field"
DETERMINISTIC = ("equinox.nn.Dropout",)


def _version(text: str) -> tuple[int, ...] | None:
    match = re.match(r"^(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(part or 0) for part in match.groups()) if match else None


@functools.lru_cache(maxsize=None)  # reading package metadata costs milliseconds, once per file otherwise
def _installed(distribution: str) -> str | None:
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def _target_option(library: str, needs: str) -> dict[str, Option]:
    return {
        f"target-{library}": Option(
            None, str,
            f"the {library} version the project targets (default: the installed one, else the newest); "
            f"nothing is reported below {needs}, where the replacements do not exist yet",
            lambda v: _version(v) is not None,
        )
    }


class _Deprecations(Rule):
    """Shared by the family: references to renamed names, rewritten to the new spelling, where the
    targeted version of the library has the new spelling."""

    renames: ClassVar[tuple[Renamed, ...]] = ()
    library: ClassVar[str]  # the distribution whose version decides
    needs: ClassVar[str]  # the first version with every replacement

    def applies(self, ctx) -> bool:
        target = ctx.option(f"target-{self.library}") or _installed(self.library)
        return target is None or (_version(target) or ()) >= _version(self.needs)

    def check(self, ctx) -> Iterator[Finding]:
        if not self.applies(ctx):
            return
        table = {r.old: r for r in self.renames}
        for node, qualified in ctx.once(_references, ctx.module, ctx.index):
            renamed = table.get(qualified or "")
            if renamed is not None:
                yield self._renamed(ctx, node, renamed)

    def _renamed(self, ctx, node: cst.BaseExpression, renamed: Renamed) -> Finding:
        old = ctx.text(node)
        if isinstance(node, cst.Name):  # `from jax import tree_map`: the import itself is what fails
            return ctx.finding(node, f"`{old}` is `{renamed.old}`, {renamed.changed}; import `{renamed.new}` instead")
        spelled, imports = ctx.name_for(renamed.new)
        fix = Fix(Safety.SAFE, f"Replace `{old}` with `{spelled}`", (ctx.replace(node, spelled), *imports))
        return ctx.finding(node, f"`{old}` is {renamed.changed}; use `{spelled}`, which takes the same arguments", fix)


def _references(tree: cst.Module, index) -> list[tuple[cst.BaseExpression, str | None]]:
    """Every dotted name read (`jax.tree_map`, outermost only: not also `jax`) and every name
    imported from a module, with the qualified name each refers to."""
    found: list[tuple[cst.BaseExpression, str | None]] = []

    class References(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> bool:
            if dotted(node) is None:
                return True  # `f(x).tree_map`: look inside for the names it is built from
            found.append((node, index.qualified_name(node)))
            return False

        def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
            module = dotted(node.module) if node.module is not None else None
            if module is not None and not node.relative and not isinstance(node.names, cst.ImportStar):
                found.extend((a.name, f"{module}.{a.name.value}") for a in node.names if isinstance(a.name, cst.Name))
            return False

        def visit_Import(self, node: cst.Import) -> bool:
            return False

    walk(tree, References())
    return found


@register
class RemovedJaxApi(_Deprecations):
    """## What it does
    Finds the top-level `jax.tree_*` aliases: `jax.tree_map`, `jax.tree_leaves`,
    `jax.tree_flatten`, `jax.tree_unflatten`, `jax.tree_structure`, `jax.tree_transpose`,
    `jax.tree_reduce`, `jax.tree_all`, also imported by name (`from jax import tree_map`).

    ## Why is this bad?
    They were deprecated in JAX 0.4.26 and removed in JAX 0.6.0: code written before then fails
    with `AttributeError` (or `ImportError`) on a current JAX. `jax.tree.*` (since JAX 0.4.25) and
    `jax.tree_util.tree_*` are the same functions.

    ## Example
    ```python
    params = jax.tree_map(lambda p: p * 0.5, params)
    ```

    ## Use instead
    ```python
    params = jax.tree.map(lambda p: p * 0.5, params)
    ```

    ## Fix safety
    Safe: the old names were aliases of the new ones, with the same signature. Names imported with
    `from jax import ...` are reported without a fix (the import line is what needs to change).
    Nothing is reported when the project targets a JAX older than 0.4.25, which lacks `jax.tree`:
    `[tool.eqx-rewrite.EQX101] target-jax = "0.4.23"` (default: the installed JAX, else the newest).

    ## Verification
    The rewritten call returns the same pytree; on JAX 0.6 and later the original does not run.
    """

    code = "EQX101"
    name = "removed-jax-api"
    summary = "`jax.tree_*` aliases were removed in JAX 0.6.0; use `jax.tree.*`"
    needles = (r"\btree_(?:map|leaves|flatten|unflatten|structure|transpose|reduce|all)\b",)
    renames = JAX_RENAMES
    library, needs = "jax", "0.4.25"
    options = _target_option(library, needs)

    @staticmethod
    def candidate(f) -> bool:
        return f.jax_tree_alias


@register
class DeprecatedEquinoxApi(_Deprecations):
    """## What it does
    Finds Equinox APIs kept only for backward compatibility: `eqx.static_field(...)`,
    `eqx.tree_inference(...)`, and `eqx.nn.Dropout(..., deterministic=...)`.

    ## Why is this bad?
    `eqx.static_field` warns since Equinox 0.13 and is `eqx.field(static=True)`;
    `eqx.tree_inference` is an alias of `eqx.nn.inference_mode`; `Dropout(deterministic=...)`
    warns and means `Dropout(inference=...)`. Deprecated aliases are removed in later releases,
    and the warnings fill every run's output.

    ## Example
    ```python
    class Model(eqx.Module):
        size: int = eqx.static_field()

    model = eqx.tree_inference(model, value=True)
    dropout = eqx.nn.Dropout(0.1, deterministic=True)
    ```

    ## Use instead
    ```python
    class Model(eqx.Module):
        size: int = eqx.field(static=True)

    model = eqx.nn.inference_mode(model, value=True)
    dropout = eqx.nn.Dropout(0.1, inference=True)
    ```

    ## Fix safety
    Safe: each replacement is what the deprecated spelling calls. `Dropout` given both
    `deterministic=` and `inference=` is reported without a fix (the deprecated one wins there).
    `Dropout.__call__(..., deterministic=...)` is not found: the instance's type is not known.
    Nothing is reported when the project targets an Equinox older than 0.11:
    `[tool.eqx-rewrite.EQX102] target-equinox = "0.10.11"` (default: the installed one, else the
    newest).

    ## Verification
    The built fields and models are identical, without the deprecation warning.
    """

    code = "EQX102"
    name = "deprecated-equinox-api"
    summary = "Equinox APIs kept for backward compatibility: `static_field`, `tree_inference`, `deterministic=`"
    needles = (r"\b(?:static_field|tree_inference|deterministic)\b",)
    renames = EQUINOX_RENAMES
    library, needs = "equinox", "0.11.0"
    options = _target_option(library, needs)

    @staticmethod
    def candidate(f) -> bool:
        return f.equinox_deprecated

    def check(self, ctx) -> Iterator[Finding]:
        if not self.applies(ctx):
            return
        yield from super().check(ctx)
        for node, qualified in ctx.once(_references, ctx.module, ctx.index):
            if qualified == STATIC_FIELD:
                yield _static_field(ctx, node)
        for call in ctx.index.calls_to(*DETERMINISTIC):
            keywords = {a.keyword.value: a for a in call.args if a.keyword is not None}
            if "deterministic" in keywords:
                yield _deterministic(ctx, call, keywords)


def _static_field(ctx, node: cst.BaseExpression) -> Finding:
    message = "`eqx.static_field` warns since Equinox 0.13 and means `eqx.field(static=True)`"
    call = ctx.parent(node)
    if isinstance(node, cst.Name) or not (isinstance(call, cst.Call) and call.func is node):
        return ctx.finding(node, f"{message}; use it instead")
    spelled, imports = ctx.name_for("equinox.field")
    after_paren = ctx.source.index("(", ctx.span(node)[1]) + 1
    static = "static=True, " if call.args else "static=True"
    edits = (ctx.replace(node, spelled), Edit(after_paren, after_paren, static), *imports)
    return ctx.finding(node, f"{message}; use `{spelled}(static=True, ...)`", Fix(Safety.SAFE, f"Use `{spelled}(static=True)`", edits))


def _deterministic(ctx, call: cst.Call, keywords: dict[str, cst.Arg]) -> Finding:
    arg = keywords["deterministic"]
    message = f"`{ctx.text(call.func)}(deterministic=...)` is deprecated in favour of `inference=...`, which means the same"
    if "inference" in keywords:
        return ctx.finding(arg, f"{message}; both are given here, and the deprecated one wins: keep one")
    fix = Fix(Safety.SAFE, "Use `inference=`", (ctx.replace(arg.keyword, "inference"),))
    return ctx.finding(arg, message, fix)
