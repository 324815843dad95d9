"""Which functions are compiled with `jax.jit` or `eqx.filter_jit`, resolved by scope: shared by
EQX002 (the step a loop calls) and EQX008 (static arguments fed a new value on every pass)."""

from __future__ import annotations

import libcst as cst

from ._flat_variant import FILTER_JIT, JAX_JIT, Jitted, argnums, string_names
from ._scopes import Scope

PARTIALS = ("functools.partial",)


def jit_of(ctx, expr: cst.BaseExpression) -> tuple[str, list[cst.Arg]] | None:
    """`eqx.filter_jit`, `eqx.filter_jit(...)`, `jax.jit`, `functools.partial(jax.jit, ...)`."""
    qualified = ctx.index.qualified_name(expr)
    if qualified in (FILTER_JIT, JAX_JIT):
        return qualified, []
    if isinstance(expr, cst.Call):
        head = ctx.index.qualified_name(expr.func)
        if head in (FILTER_JIT, JAX_JIT) and all(a.keyword is not None for a in expr.args):
            return head, list(expr.args)
        if head in PARTIALS and expr.args and ctx.index.qualified_name(expr.args[0].value) in (FILTER_JIT, JAX_JIT):
            rest = list(expr.args[1:])
            if all(a.keyword is not None for a in rest):
                return ctx.index.qualified_name(expr.args[0].value), rest
    return None


def resolve_jitted(ctx, scope: Scope, name: str, loop: cst.CSTNode) -> Jitted | None:
    """The jit-compiled function `name` means at the loop: resolved by scope, its binding the last
    one before the loop when it is bound in the loop's own scope."""
    owner = scope.resolve(name)
    if owner is None:
        return None
    site = _binding_before(ctx, owner, name, loop, same_scope=owner is scope)
    return None if site is None else _jitted_at(ctx, owner, name, site)


def _binding_before(ctx, owner: Scope, name: str, loop: cst.CSTNode, same_scope: bool) -> cst.CSTNode | None:
    sites = owner.bindings[name]
    if not same_scope:
        return sites[-1]  # the enclosing scope has run to its end by the time the loop's function is called
    loop_start = ctx.span(loop)[0]
    if any(ctx.span(s)[0] >= loop_start and ctx.is_inside(s, loop) for s in sites):
        return None  # the step is rebound in the loop itself
    before = [s for s in sites if ctx.span(s)[0] < loop_start]
    return before[-1] if before else None


def _jitted_at(ctx, owner: Scope, name: str, site: cst.CSTNode) -> Jitted | None:
    if isinstance(site, cst.FunctionDef):
        for decorator in site.decorators:
            jit = jit_of(ctx, decorator.decorator)
            if jit is not None:
                return Jitted(name, site, site, owner, *jit)
        return None
    assign = assignment_of(ctx, site)
    if assign is None:
        return None
    value = assign.value
    if not (isinstance(value, cst.Call) and value.args and ctx.index.qualified_name(value.func) in (FILTER_JIT, JAX_JIT)):
        return None
    if value.args[0].keyword is not None or not all(a.keyword is not None for a in value.args[1:]):
        return None
    inner = value.args[0].value
    if not isinstance(inner, cst.Name) or owner.resolve(inner.value) is not owner:
        return None
    fn = next((s for s in reversed(owner.bindings[inner.value]) if ctx.span(s)[0] < ctx.span(assign)[0]), None)
    if not isinstance(fn, cst.FunctionDef):
        return None
    return Jitted(name, fn, ctx.parent(assign), owner, ctx.index.qualified_name(value.func), list(value.args[1:]))


def assignment_of(ctx, site: cst.CSTNode) -> cst.Assign | None:
    """`name = ...` where `site` is the Name bound, as the sole target."""
    target = ctx.parent(site)
    assign = ctx.parent(target) if isinstance(target, cst.AssignTarget) else None
    if isinstance(assign, cst.Assign) and len(assign.targets) == 1 and assign.targets[0].target is site:
        if isinstance(ctx.parent(assign), cst.SimpleStatementLine) and len(ctx.parent(assign).body) == 1:
            return assign
    return None


def static_parameters(jitted: Jitted) -> set[str] | None:
    """The parameters `jax.jit` holds static, by name (`static_argnums` positions named by the
    function's parameters, and `static_argnames`); None when the options can't be read."""
    positional = [p.name.value for p in (*jitted.function.params.posonly_params, *jitted.function.params.params)]
    static: set[str] = set()
    for option in jitted.options:
        key = option.keyword.value
        if key == "static_argnums":
            numbers = argnums(option.value)
            if numbers is None:
                return None
            static.update(positional[n] for n in numbers if -len(positional) <= n < len(positional))
        elif key == "static_argnames":
            names = string_names(option.value)
            if names is None:
                return None
            static.update(names)
    return static
