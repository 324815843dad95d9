"""EQX008's second shape: a compiled function called in a loop with a static argument that is a new
Python number on every pass (`step(model, i)` under `eqx.filter_jit`, which holds every non-array
argument static; an argument in `static_argnums` under `jax.jit`). Each new value is traced and
compiled again, so the function compiles once per pass. Reported without a fix: whether the
function needs the value static (a shape, a Python branch) is the author's call."""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ..rule import Finding
from ..walk import walk
from ._flat_variant import FILTER_JIT, Jitted
from ._jitted import resolve_jitted, static_parameters
from ._names import positional_params, target_name_nodes
from ._scopes import Scopes

NUMBER_CASTS = ("float", "int")


def static_argument_findings(ctx, gains: dict[str, str]) -> Iterator[Finding]:
    scopes: Scopes | None = None
    for loop, calls in _loops_and_their_calls(ctx.module):
        per_pass = _numbers_per_pass(loop)
        if not per_pass:
            continue
        for call in calls:
            numbers = [a for a in call.args if _number_of(a.value, per_pass)]
            if not numbers:
                continue  # cheap tests first: resolving the function needs the scopes
            scopes = scopes or Scopes(ctx.module)
            scope = scopes.scope_of(call, ctx.ancestors(call))
            jitted = resolve_jitted(ctx, scope, call.func.value, loop)
            static = _static_arguments(jitted, call, numbers) if jitted is not None else []
            if static:
                yield _finding(ctx, jitted, static[0], gains[jitted.kind])


def _loops_and_their_calls(module: cst.Module) -> list[tuple[cst.For | cst.While, list[cst.Call]]]:
    """Each loop with the calls of a plain name whose innermost loop it is, outside functions and
    lambdas defined in it (their bodies run when called)."""
    found: list[tuple[cst.For | cst.While, list[cst.Call]]] = []

    class Loops(cst.CSTVisitor):
        def __init__(self) -> None:
            self.stack: list[list[cst.Call]] = []

        def enter(self, node) -> None:
            found.append((node, []))
            self.stack.append(found[-1][1])

        def visit_For(self, node: cst.For) -> bool:
            walk(node.iter, self)  # evaluated once, before the passes
            return self.passes(node, node.target, node.body)

        def visit_While(self, node: cst.While) -> bool:
            return self.passes(node, node.test, node.body)

        def passes(self, node: cst.For | cst.While, *per_pass: cst.CSTNode) -> bool:
            self.enter(node)
            for part in per_pass:
                walk(part, self)
            self.stack.pop()
            if node.orelse is not None:
                walk(node.orelse, self)
            return False

        def visit_FunctionDef(self, node) -> bool:
            saved, self.stack = self.stack, []
            walk(node.body, self)
            self.stack = saved
            return False

        def visit_Lambda(self, node) -> bool:
            return False

        def visit_Call(self, node: cst.Call) -> None:
            if self.stack and isinstance(node.func, cst.Name):
                self.stack[-1].append(node)

    walk(module, Loops())
    return found


def _numbers_per_pass(loop: cst.For | cst.While) -> set[str]:
    """Names holding a Python number that changes from pass to pass: the index of `range` or
    `enumerate`, a counter stepped in the body (`step += 1`), and numbers computed from those in
    the body (`lr = 0.1 * 0.99 ** i`, `t = float(i) / n`)."""
    per_pass: set[str] = set()
    if isinstance(loop, cst.For) and isinstance(loop.iter, cst.Call) and isinstance(loop.iter.func, cst.Name):
        kind = loop.iter.func.value
        if kind == "range" and isinstance(loop.target, cst.Name):
            per_pass.add(loop.target.value)
        elif kind == "enumerate" and isinstance(loop.target, (cst.Tuple, cst.List)) and loop.target.elements:
            per_pass.update(n.value for n in target_name_nodes(loop.target.elements[0].value))

    class Assignments(cst.CSTVisitor):
        def visit_FunctionDef(self, node) -> bool:
            return False

        def visit_Lambda(self, node) -> bool:
            return False

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            if isinstance(node.target, cst.Name) and _number_of(node.value, per_pass, literal=True):
                per_pass.add(node.target.value)

        def visit_Assign(self, node: cst.Assign) -> None:
            if len(node.targets) == 1 and isinstance(node.targets[0].target, cst.Name) and _number_of(node.value, per_pass):
                per_pass.add(node.targets[0].target.value)

    walk(loop.body, Assignments())
    return per_pass


def _number_of(node: cst.BaseExpression, per_pass: set[str], literal: bool = False) -> bool:
    """`node` is a Python number that changes from pass to pass (or, with `literal`, any number
    literal too: what a counter is stepped by)."""
    if isinstance(node, cst.Name):
        return node.value in per_pass
    if isinstance(node, (cst.Integer, cst.Float)):
        return literal
    if isinstance(node, cst.UnaryOperation):
        return _number_of(node.expression, per_pass, literal)
    if isinstance(node, cst.BinaryOperation):
        sides = (node.left, node.right)
        return all(_number_of(s, per_pass, True) for s in sides) and any(_number_of(s, per_pass, literal) for s in sides)
    if isinstance(node, cst.Call) and isinstance(node.func, cst.Name) and node.func.value in NUMBER_CASTS:
        return len(node.args) == 1 and _number_of(node.args[0].value, per_pass, literal)
    return False


def _static_arguments(jitted: Jitted, call: cst.Call, numbers: list[cst.Arg]) -> list[cst.Arg]:
    """Of the per-pass numbers passed, those the compiled function holds static."""
    if jitted.kind == FILTER_JIT:
        return numbers  # every argument that is not an array is static
    static = static_parameters(jitted)
    if not static:
        return []
    params = [p.name.value for p in positional_params(jitted.function)]
    named: dict[int, str] = {}
    for index, arg in enumerate(call.args):
        if arg.star:
            break  # the positions after a `*args` can't be told
        if arg.keyword is not None:
            named[id(arg)] = arg.keyword.value
        elif index < len(params):
            named[id(arg)] = params[index]
    return [a for a in numbers if named.get(id(a)) in static]


def _finding(ctx, jitted: Jitted, arg: cst.Arg, gain: str) -> Finding:
    how = "`eqx.filter_jit` holds every argument that is not an array static" if jitted.kind == FILTER_JIT else "it is a static argument of `jax.jit`"
    value = ctx.snippet(arg.value)
    return ctx.finding(
        arg,
        f"`{jitted.name}` is compiled again on every pass of the loop: `{value}` is a new Python number each pass, "
        f"and {how}, so each value is traced and compiled anew ({gain}); "
        f"pass it as an array (`jnp.asarray({value})`) unless the function needs it static; "
        "no fix: whether it must stay static is the author's call",
    )
