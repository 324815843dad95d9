from __future__ import annotations

from typing import Iterator

import libcst as cst

from ..rule import Edit, Finding, Fix, Rule, Safety, register
from ..walk import walk
from ._names import declared_outer, fresh, names_in, param_names
from ._static_per_pass import static_argument_findings

WRAPPERS = ("jax.jit", "equinox.filter_jit", "jax.pmap", "equinox.filter_pmap")
PARTIAL = "functools.partial"
# Function transformations: applied to functions that do not change, they give the same function.
TRANSFORMS = (
    PARTIAL, "jax.vmap", "jax.grad", "jax.value_and_grad", "jax.checkpoint", "equinox.filter_vmap",
    "equinox.filter_grad", "equinox.filter_value_and_grad", "equinox.filter_checkpoint",
)
# Measured by bench/jit_in_loop.py (2-core CPU, jax 0.10.2): per call, in the loop against hoisted.
GAIN_RETRACED = "a new function each pass is traced and compiled again every iteration (measured: 88 ms a call, against 4-19 us created once)"
GAIN_STATIC = {
    "equinox.filter_jit": "measured: 221 ms a call, against 0.6 ms with the number passed as an array",
    "jax.jit": "measured: 180 ms a call, against 0.4 ms with the number traced as an array",
}
GAIN_NAMED = "each new wrapper misses the fast dispatch path (measured: calls 19x slower for `jax.jit`, 5.4x for `eqx.filter_jit`)"


@register
class JitInLoop(Rule):
    """## What it does
    Finds a compiled function created inside a Python loop and called in the same pass:
    `jax.jit(...)`, `eqx.filter_jit(...)`, `jax.pmap(...)` or `eqx.filter_pmap(...)` evaluated in a
    `for`/`while` body, or a function decorated with them defined there. One created per pass of
    an outer loop and called only inside an inner loop is paid for once per outer pass and left
    alone.

    Also a compiled function called in a loop with a new Python number as a static argument on
    every pass: the index of `range`/`enumerate`, a counter stepped in the loop (`step += 1`), or
    arithmetic and `float`/`int` of those (`lr = 0.1 * 0.99 ** i`), passed to an `eqx.filter_jit`
    function (which holds every argument that is not an array static) or at a `static_argnums`/
    `static_argnames` position of `jax.jit`. An outer loop's index used in an inner loop compiles
    once per outer pass and is left alone.

    ## Why is this bad?
    Each pass builds a new wrapper. Around a `lambda`, a `functools.partial` or a function defined
    in the loop it is also a new function each time, so JAX traces and compiles it again on every
    iteration (jax issues #2814, #9288): measured by `bench/jit_in_loop.py` on a 2-core CPU, 88 ms a
    call against 4 us (`jax.jit`) or 19 us (`eqx.filter_jit`) when created once. Around the same
    named function the compiled code is reused, but each new wrapper misses JAX's fast dispatch
    path: calls 19x slower for `jax.jit`, 5.4x for `eqx.filter_jit`. A static argument is part of
    what is compiled: each new value traces and compiles the function again (jax issue #2251),
    measured at 221 ms a call under `eqx.filter_jit` and 180 ms under `jax.jit`, against 0.6 ms and
    0.4 ms with the number passed as an array (a loaded 2-core CPU).

    ## Example
    ```python
    for batch in batches:
        loss = jax.jit(lambda p: loss_fn(p, scale))(params)
    ```

    ## Use instead
    ```python
    loss_fn_jit = jax.jit(lambda p: loss_fn(p, scale))
    for batch in batches:
        loss = loss_fn_jit(params)
    ```

    ## Fix safety
    Safe when what is compiled cannot change from one pass to the next: it reads nothing the loop
    binds, and a `lambda` or `partial` reads only imported modules and locals of the enclosing
    function that the loop does not rebind (then every pass traced the same computation, and tracing
    it once gives the same results). Reported without a fix otherwise: a function reading the loop's
    variables, attributes of objects the loop may change, or globals is traced with the values of each
    pass, which hoisting would freeze. Decorated functions defined in the loop are reported without a
    fix.

    A static argument fed a new number each pass is reported without a fix: passing it as an array
    (`jnp.asarray(i)`) compiles once, unless the function needs the value static (a shape, a
    Python `if`), which only the author knows.

    ## Verification
    Outputs are equal; each call is faster from the second iteration on.
    """

    code = "EQX008"
    name = "jit-in-loop"
    summary = "a jit-compiled function created, or compiled again for a new static number, on every pass of a loop"
    needles = (r"\b(?:jit|filter_jit|pmap|filter_pmap)\b", r"\b(?:for|while)\b")

    @staticmethod
    def candidate(f) -> bool:
        return f.jit_in_loop or bool(f.jitted & f.called_with_numbers_in_loops)

    def check(self, ctx) -> Iterator[Finding]:
        for loop, wrapped in _wrappers_in_loops(ctx):
            if _called_in_the_same_pass(ctx, loop, wrapped) and not _wraps_what_the_loop_rebinds(loop, wrapped):
                yield _finding(ctx, loop, wrapped)
        yield from static_argument_findings(ctx, GAIN_STATIC)


def _wraps_what_the_loop_rebinds(loop, wrapped) -> bool:
    """`eqx.filter_jit(model)` with `model` loaded on each pass: a different callable each time, so
    one wrapper per pass is inherent (compiling it once is not possible)."""
    target = wrapped.args[0].value if isinstance(wrapped, cst.Call) and wrapped.args else None
    while isinstance(target, cst.Attribute):
        target = target.value
    return isinstance(target, cst.Name) and target.value in names_in(loop).bound


def _called_in_the_same_pass(ctx, loop, wrapped) -> bool:
    """The function created is called in the pass that created it, outside any inner loop: each
    creation serves a fixed number of calls. One created per pass of an outer loop and called many
    times in an inner one is paid for once per pass, which is often the intent."""
    parent = ctx.parent(wrapped)
    if isinstance(parent, cst.Call) and parent.func is wrapped:
        return True
    if isinstance(wrapped, cst.FunctionDef):
        name = wrapped.name.value
    elif isinstance(parent, cst.Assign) and len(parent.targets) == 1 and isinstance(parent.targets[0].target, cst.Name):
        name = parent.targets[0].target.value
    else:
        return False  # stored or handed on: how often it is called cannot be told
    calls = [n for n in names_in(loop.body).loads_of(name) if isinstance(ctx.parent(n), cst.Call) and ctx.parent(n).func is n]
    return any(_innermost_loop(ctx, call, loop) is loop for call in calls)


def _innermost_loop(ctx, node: cst.CSTNode, outer) -> cst.CSTNode | None:
    """The innermost loop (or comprehension, or function) around `node`, up to `outer`."""
    for ancestor in ctx.ancestors(node):
        if ancestor is outer or isinstance(ancestor, (cst.For, cst.While, cst.CompFor, cst.FunctionDef, cst.Lambda)):
            return ancestor
    return None


def _wrappers_in_loops(ctx) -> list[tuple[cst.For | cst.While, cst.CSTNode]]:
    """(innermost loop, wrapper call or decorated def) for each wrapper evaluated on every pass."""
    found: list = []

    class Loops(cst.CSTVisitor):
        def __init__(self) -> None:
            self.loops: list[cst.For | cst.While] = []

        def visit_For(self, node) -> None:
            self.loops.append(node)

        def leave_For(self, node) -> None:
            self.loops.pop()

        def visit_While(self, node) -> None:
            self.loops.append(node)

        def leave_While(self, node) -> None:
            self.loops.pop()

        def innermost(self, node: cst.CSTNode) -> cst.For | cst.While | None:
            """The innermost loop that evaluates `node` on every pass (not its iterable or `else`)."""
            return next((loop for loop in reversed(self.loops) if _per_pass(ctx, node, loop)), None)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            loop = self.innermost(node)
            if loop is not None and any(_is_wrapper(ctx, d.decorator) for d in node.decorators):
                found.append((loop, node))
            saved, self.loops = self.loops, []  # a function's body runs when called, not per pass
            walk(node.body, self)
            self.loops = saved
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False  # its body runs when called

        def visit_Call(self, node: cst.Call) -> None:
            loop = self.innermost(node) if ctx.index.qualified_name(node.func) in WRAPPERS else None
            if loop is not None:
                found.append((loop, node))

    walk(ctx.module, Loops())
    return found


def _per_pass(ctx, node: cst.CSTNode, loop: cst.For | cst.While) -> bool:
    once = [loop.iter] if isinstance(loop, cst.For) else []
    return not any(ctx.is_inside(node, part) for part in [*once, loop.orelse] if part is not None)


def _is_wrapper(ctx, decorator: cst.BaseExpression) -> bool:
    """`@jax.jit`, `@eqx.filter_jit(donate=...)`, `@partial(jax.jit, static_argnums=...)`."""
    if isinstance(decorator, cst.Call):
        if ctx.index.qualified_name(decorator.func) == PARTIAL and decorator.args:
            return ctx.index.qualified_name(decorator.args[0].value) in WRAPPERS
        decorator = decorator.func
    return ctx.index.qualified_name(decorator) in WRAPPERS


def _finding(ctx, loop, wrapped) -> Finding:
    if isinstance(wrapped, cst.FunctionDef):
        own = names_in(wrapped.body).bound | set(param_names(wrapped))
        read = sorted({n.value for n in names_in(wrapped.body).loads} & names_in(loop).bound - own)
        advice = f"pass `{read[0]}`, which the loop rebinds, as an argument and " if read else ""
        return ctx.finding(
            wrapped.name,
            f"`{wrapped.name.value}` is defined and compiled anew on every pass of the loop: {GAIN_RETRACED}; "
            f"{advice}define it once, before the loop; no fix: moving a function's definition is left to you",
        )
    target = wrapped.args[0].value if wrapped.args and not wrapped.args[0].keyword else None
    retraced = isinstance(target, (cst.Lambda, cst.Call))
    gain = GAIN_RETRACED if retraced else GAIN_NAMED
    message = f"`{ctx.text(wrapped.func)}(...)` creates a compiled function on every pass of the loop: {gain}; create it once, before the loop"
    problem = _hoisting_problem(ctx, loop, wrapped)
    if problem:
        return ctx.finding(wrapped, f"{message}; no fix: {problem}")
    name = fresh(set(ctx.index.names), f"{target.value}_jit" if isinstance(target, cst.Name) else "jitted")
    indent = ctx.indent_of(loop)
    line_start = ctx.span(loop)[0] - len(indent)
    hoisted = Edit(line_start, line_start, f"{indent}{name} = {ctx.text(wrapped)}\n")
    fix = Fix(Safety.SAFE, f"Create `{name}` once, before the loop", (hoisted, ctx.replace(wrapped, name)))
    return ctx.finding(wrapped, message, fix)


def _hoisting_problem(ctx, loop, wrapped: cst.Call) -> str | None:
    """Why creating it once might not give what creating it on every pass gave, or None."""
    moved = {n.value for n in _outer_reads(ctx, wrapped)} & names_in(loop).bound
    if moved:
        return f"it reads `{sorted(moved)[0]}`, which the loop rebinds"
    for call in _calls_made(wrapped):
        if ctx.index.qualified_name(call.func) not in (*WRAPPERS, *TRANSFORMS):
            return f"`{ctx.snippet(call)}` is called to make it, which may not give the same on every pass"
    return _free_state(ctx, wrapped, loop)


def _outer_reads(ctx, wrapped: cst.Call) -> list[cst.Name]:
    """The names `wrapped` reads from its scope: not the parameters of its own lambdas."""
    def bound_by_a_lambda(name: cst.Name) -> bool:
        for ancestor in ctx.ancestors_within(name, wrapped):
            params = ancestor.params if isinstance(ancestor, cst.Lambda) else None
            if params and name.value in {p.name.value for p in (*params.posonly_params, *params.params, *params.kwonly_params)}:
                return True
        return False

    return [n for n in names_in(wrapped).loads if not bound_by_a_lambda(n)]


def _calls_made(wrapped: cst.Call) -> list[cst.Call]:
    """The calls evaluated to create the wrapper: in its arguments, outside lambda bodies."""
    found: list[cst.Call] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            found.append(node)

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    for arg in wrapped.args:
        walk(arg.value, Calls())
    return found


def _variables(scope: cst.FunctionDef | cst.Module) -> set[str]:
    return names_in(scope.params, scope.body).bound if isinstance(scope, cst.FunctionDef) else names_in(scope).bound


def _free_state(ctx, wrapped: cst.Call, loop) -> str | None:
    """Each pass traced what the wrapper reads as it was then: it may read only imported modules,
    functions and classes of the file, and variables of the loop's own scope that nothing can
    rebind while the loop runs (no `global`/`nonlocal` for them), never through an attribute or
    subscript of an object the loop could change in place."""
    scope = next((a for a in ctx.ancestors(loop) if isinstance(a, cst.FunctionDef)), ctx.module)
    variables = ctx.once(_variables, scope)
    declared = ctx.once(declared_outer, ctx.module)
    for name in _outer_reads(ctx, wrapped):
        value, parent = name.value, ctx.parent(name)
        if value in ctx.index.imports:
            continue
        if value in declared:
            return f"it reads `{value}`, which a `global` or `nonlocal` declaration lets a call in the loop rebind"
        if value not in variables and value not in ctx.index.functions and value not in ctx.index.classes:
            return f"it reads `{value}`, which is not a variable of this scope"
        if isinstance(parent, (cst.Attribute, cst.Subscript)) and parent.value is name and value not in ctx.index.classes:
            return f"it reads `{ctx.snippet(parent)}`, which the loop may change in place"
    return None
