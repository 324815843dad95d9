from __future__ import annotations

from typing import Iterator

import libcst as cst

from ..index import dotted
from ..project import imports_jitted
from ..rule import Finding, Rule, register
from ._flat_variant import FILTER_JIT, JAX_JIT, StepCall, flat_loop_fix, unsupported_jit_options
from ._jitted import assignment_of, jit_of, resolve_jitted
from ._names import target_name_nodes, target_names
from ._scopes import Scope, Scopes

FLATTENED_BY = ("jax.tree_util.tree_flatten", "jax.tree_util.tree_leaves", "jax.tree.flatten", "jax.tree.leaves")
ARRAY_MODULES = ("jax.numpy.", "jax.random.", "numpy.")
# A step from another module is reported only when it carries model-and-optimiser-like state: a lone
# carried value there is mostly numerical code threading one array (`acc = _where(..., acc)`), where
# flattening gains nothing and the report would be noise, unless that one value is a Module.
MIN_IMPORTED_STATE = 2
# Per-step time after/before, from the measurements page (2-core CPU, Adam, batch 32).
GAIN = {
    FILTER_JIT: "measured 0.45-0.58x per-step time for small models under `eqx.filter_jit`, 0.92x once the step is compute-bound",
    JAX_JIT: "measured 0.59-0.62x per-step time for small models under `jax.jit`, no gain once the step is compute-bound",
    None: "measured 0.45-0.62x per-step time for small models",
}


@register
class PytreeStepLoop(Rule):
    """## What it does
    Finds a Python `for`/`while` loop that calls a jit-compiled step function (`eqx.filter_jit` or
    `jax.jit`), passing it whole pytrees that it rebinds from the result:
    `model, opt_state = make_step(model, opt_state, x, y)`. The step may be defined at module level
    or inside the function that runs the loop (as Equinox's own examples do), jitted by a decorator
    (anywhere in the decorator list) or by an assignment (`step = eqx.filter_jit(fn)`); its name is
    resolved by scope, so a nested `make_step` shadows a module-level one. A step imported from
    another file checked in the same run (`from steps import make_step`, `steps.make_step`) is
    reported without a fix; then at least two pytrees must be carried. Loops where flattening gains
    nothing are left alone: every carried value a plain array (`jnp.zeros(...)`, a dict of them), or,
    under `jax.jit`, no carried value known to be a Module (a constructed Module, `eqx.filter`,
    `eqx.partition`, a parameter annotated with a Module class); plain pytrees of arrays under
    `jax.jit` gain 1.01x at 10 leaves.

    ## Why is this bad?
    Every call flattens the model and optimiser state on the way in and unflattens them on the way
    out: a fixed cost per step that dominates small models. Measured on a 2-core CPU (Adam, batch
    32): per-step time 0.58x for a tiny MLP and 0.45x for a 100-leaf model under `filter_jit`, 0.62x
    and 0.59x under `jax.jit`, once the loop runs on flattened leaves; about 0.92x when the step is
    compute-bound. Final parameters bit-for-bit identical. A plain dict of arrays under `jax.jit`
    gains 1.01x (10 leaves) to 0.89x (100 leaves), so it is not reported.

    ## Example
    ```python
    for x, y in loader:
        loss, model, opt_state = make_step(model, opt_state, x, y)
    ```

    ## Use instead
    ```python
    flat_model, treedef_model = jax.tree_util.tree_flatten(model)
    flat_opt_state, treedef_opt_state = jax.tree_util.tree_flatten(opt_state)
    for x, y in loader:
        loss, flat_model, flat_opt_state = make_step_flat(
            (treedef_model, treedef_opt_state), flat_model, flat_opt_state, x, y
        )
    model = jax.tree_util.tree_unflatten(treedef_model, flat_model)
    opt_state = jax.tree_util.tree_unflatten(treedef_opt_state, flat_opt_state)
    ```
    `make_step_flat` is generated beside `make_step`, compiled the same way, with the same parameter
    names, kinds and defaults (so `static_argnames`/`donate_argnames` still name what they named, and
    every call form keeps working): it unflattens, calls `make_step`, and flattens the results,
    raising at trace time if the step changed the state's structure (unflattening a mismatched leaf
    list would silently corrupt it). One variant serves every loop that calls the step the same way;
    `make_step` keeps working for its other callers. Other reads of the state inside the loop
    (evaluation, logging, other arguments of the call) read it unflattened. A loop at module level
    (a script, a notebook cell) or inside a `try`/`with` is wrapped in `try`/`finally`, so the state is
    unflattened even when the loop is interrupted.

    ## Fix safety
    Safe when every reader of the state is rewritten. Reported without a fix when something the fix
    cannot rewrite reads the state while the loop runs: a nested function or lambda closing over it,
    a module-level function reading it as a global (for a loop at module level), `global`/`nonlocal`
    declarations of it, `locals()`/`vars()`/`eval`/`exec`; when the state is rebound or deleted
    elsewhere in the loop (its structure may change: a re-initialised optimiser, a swapped model);
    when a state argument cannot be matched to a named parameter of the step; when the step is a
    bound method, or compiled in another module (the flat variant would have to be generated there,
    for that module's other callers too; checking the loop's file alone cannot see that module, so it
    stays quiet); or when `jax.jit` options cannot be carried over (`in_shardings`, argnums that
    cannot be renumbered).

    ## Verification
    Final parameters equal bit for bit; the per-step time is where the gain shows.
    """

    code = "EQX002"
    name = "pytree-step-loop"
    summary = "jit'd step fed whole pytrees in a Python loop; run the loop on flattened leaves"
    needles = (r"^[ \t]*(?:for|while)\b",)

    @classmethod
    def may_match_text(cls, source: str, settings) -> bool:
        if not super().may_match_text(source, settings):
            return False
        return "jit" in source or imports_jitted(source, settings.project_jitted)

    @staticmethod
    def candidate(f) -> bool:
        return bool(f.jitted & f.carried_calls_in_loops or f.imported_jitted & f.state_calls_in_loops)

    def check(self, ctx) -> Iterator[Finding]:
        scopes: Scopes | None = None
        methods = _jitted_methods(ctx)
        for assign in ctx.index.assigns:
            call = assign.value
            if not isinstance(call, cst.Call) or len(assign.targets) != 1:
                continue
            carried = _carried(assign, call)
            if not carried:
                continue  # cheap tests first: finding the loop needs the parent map
            loop = _innermost_loop(ctx, assign)
            if loop is None:
                continue
            if isinstance(call.func, cst.Attribute) and call.func.attr.value in methods:
                yield ctx.finding(assign, _message(ctx.text(call.func), carried, None) + "; no fix: the step is a bound method")
                continue
            scopes = scopes or Scopes(ctx.module)
            scope = scopes.scope_of(assign, ctx.ancestors(assign))
            imported = _imported_jitted(ctx, call)
            if imported is not None:
                if _carries_state(ctx, scope, carried, loop) and not _already_flat(ctx, scope, carried):
                    message = _message(dotted(call.func) or imported, carried, None)
                    yield ctx.finding(assign, f"{message}; no fix: the step is compiled in another module (`{imported}`)")
                continue
            if not isinstance(call.func, cst.Name):
                continue
            jitted = resolve_jitted(ctx, scope, call.func.value, loop)
            if jitted is None or _already_flat(ctx, scope, carried) or _gains_nothing(ctx, scope, call, carried, loop, jitted.kind):
                continue
            yield _finding(ctx, StepCall(assign, call, loop, scope, jitted, carried))


# --- what the step is --------------------------------------------------------------------------


def _imported_jitted(ctx, call: cst.Call) -> str | None:
    """The qualified name of an imported step that another file of the run compiles with jit."""
    qualified = ctx.index.qualified_name(call.func)
    if qualified is None:
        return None
    module, _, function = qualified.rpartition(".")
    if (module.rpartition(".")[2], function) not in ctx.settings.project_jitted:
        return None
    return qualified.lstrip(".")


def _jitted_methods(ctx) -> set[str]:
    return {
        name
        for info in ctx.index.classes.values()
        for name, fn in info.methods.items()
        if any(jit_of(ctx, d.decorator) for d in fn.decorators)
    }


# --- what the loop carries ---------------------------------------------------------------------


def _innermost_loop(ctx, node: cst.CSTNode) -> cst.For | cst.While | None:
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, (cst.For, cst.While)):
            return ancestor
        if isinstance(ancestor, (cst.FunctionDef, cst.Lambda, cst.ClassDef)):
            return None
    return None


def _carried(assign: cst.Assign, call: cst.Call) -> list[str]:
    """Names passed to the step and rebound from its result in the same statement, in call order."""
    targets = target_names(assign.targets[0].target)
    args = [a.value.value for a in call.args if isinstance(a.value, cst.Name) and not a.star]
    if len(args) != len(set(args)):
        return []
    return [name for name in args if name in targets]


def _already_flat(ctx, scope: Scope, carried: list[str]) -> bool:
    """State flattened in the loop's own scope (the Tricks page's form, or our fix) is left alone;
    a flat variant elsewhere flattening its own parameters is no sign of it."""
    for name in carried:
        for site in scope.bindings.get(name, []):
            assign = assignment_of(ctx, site)
            value = assign.value if assign is not None else _unpacking_call(ctx, site)
            if isinstance(value, cst.Call) and _flattens(ctx, value.func):
                return True
    return False


def _flattens(ctx, func: cst.BaseExpression) -> bool:
    """`jax.tree_util.tree_flatten` through the imports, or spelled so with `jax` never imported:
    documentation snippets leave their imports out, and this only spares a loop from a report."""
    if ctx.index.qualified_name(func) in FLATTENED_BY:
        return True
    path = dotted(func)
    return path in FLATTENED_BY and path.partition(".")[0] not in ctx.index.imports


# What a carried value provably is, from how it is bound outside the loop.
ARRAY, MODULE, OTHER = "array", "module", "other"
MODULE_MAKERS = frozenset({"equinox.filter", "equinox.combine", "equinox.partition", "equinox.nn.make_with_state", "equinox.tree_at", "equinox.tree_deserialise_leaves"})


def _gains_nothing(ctx, scope: Scope, call: cst.Call, carried: list[str], loop: cst.CSTNode, kind: str) -> bool:
    """Flattening saves nothing measurable: every carried value is a plain array (or a literal
    container of them), or, under `jax.jit`, no Module is involved (a plain pytree of a few arrays
    gains 1.01x at 10 leaves; the measured gains are for Modules). There a Module's static half
    passed beside the carried arrays (`eqx.partition` + `jax.jit`) counts as a Module."""
    kinds = {_carried_kind(ctx, scope, name, loop) for name in carried}
    if kind == JAX_JIT:
        passed = {a.value.value for a in call.args if isinstance(a.value, cst.Name)} - set(carried)
        return MODULE not in kinds | {_carried_kind(ctx, scope, name, loop) for name in passed}
    return kinds == {ARRAY}


def _carried_kind(ctx, scope: Scope, name: str, loop: cst.CSTNode) -> str:
    owner = scope.resolve(name) or scope
    sites = [s for s in owner.bindings.get(name, []) if not ctx.is_inside(s, loop)]
    kinds = {_site_kind(ctx, owner, site, 0) for site in sites}
    return MODULE if MODULE in kinds else ARRAY if kinds == {ARRAY} else OTHER


def _site_kind(ctx, scope: Scope, site: cst.CSTNode, depth: int) -> str:
    if isinstance(site, cst.Param):
        annotation = site.annotation.annotation if site.annotation else None
        return MODULE if annotation is not None and _names_module_class(ctx, annotation) else OTHER
    assign = assignment_of(ctx, site)
    if assign is not None:
        return _value_kind(ctx, scope, assign.value, depth)
    unpacked = _unpacking_call(ctx, site)
    return MODULE if unpacked is not None and ctx.index.qualified_name(unpacked.func) in MODULE_MAKERS else OTHER


def _names_module_class(ctx, annotation: cst.BaseExpression) -> bool:
    name = dotted(annotation)
    return name is not None and (ctx.index.is_module_class(name) or ctx.index.qualified_name(annotation) == "equinox.Module")


def _unpacking_call(ctx, site: cst.CSTNode) -> cst.Call | None:
    """`a, b = call(...)` where `site` is one of the names unpacked."""
    node = ctx.parent(site)
    while isinstance(node, (cst.Element, cst.Tuple, cst.List, cst.StarredElement)):
        node = ctx.parent(node)
    assign = ctx.parent(node) if isinstance(node, cst.AssignTarget) else None
    return assign.value if isinstance(assign, cst.Assign) and isinstance(assign.value, cst.Call) else None


def _value_kind(ctx, scope: Scope, value: cst.BaseExpression, depth: int) -> str:
    if depth > 3:
        return OTHER
    if isinstance(value, (cst.Integer, cst.Float, cst.Imaginary)):
        return ARRAY
    if isinstance(value, cst.UnaryOperation):
        return _value_kind(ctx, scope, value.expression, depth + 1)
    if isinstance(value, cst.BinaryOperation):
        kinds = {_value_kind(ctx, scope, v, depth + 1) for v in (value.left, value.right)}
        return ARRAY if ARRAY in kinds else OTHER
    if isinstance(value, cst.Name):
        owner = scope.resolve(value.value)
        sites = owner.bindings.get(value.value, []) if owner is not None else []
        kinds = {_site_kind(ctx, owner, s, depth + 1) for s in sites}
        return MODULE if MODULE in kinds else ARRAY if kinds == {ARRAY} else OTHER
    if isinstance(value, (cst.List, cst.Tuple, cst.Dict)):
        parts = [e.value for e in value.elements if isinstance(e, (cst.Element, cst.DictElement))]
        return _container_kind(ctx, scope, parts, len(parts) == len(value.elements), depth)
    if isinstance(value, cst.Call):
        qualified = ctx.index.qualified_name(value.func) or ""
        if qualified.startswith(ARRAY_MODULES):
            return ARRAY
        if ctx.index.constructed_module(value) is not None or qualified in MODULE_MAKERS:
            return MODULE
        if dotted(value.func) in ctx.index.classes:  # a NamedTuple or dataclass of this file: its fields
            return _container_kind(ctx, scope, [a.value for a in value.args], True, depth)
    return OTHER


def _container_kind(ctx, scope: Scope, parts: list[cst.BaseExpression], complete: bool, depth: int) -> str:
    kinds = {_value_kind(ctx, scope, p, depth + 1) for p in parts}
    if MODULE in kinds:
        return MODULE
    return ARRAY if complete and kinds == {ARRAY} else OTHER


def _carries_state(ctx, scope: Scope, carried: list[str], loop: cst.CSTNode) -> bool:
    if len(carried) >= MIN_IMPORTED_STATE:
        return True
    return _carried_kind(ctx, scope, carried[0], loop) == MODULE


# --- the finding ------------------------------------------------------------------------------


def _message(step: str, carried: list[str], kind: str | None) -> str:
    state = ", ".join(f"`{c}`" for c in carried)
    return (
        f"the loop passes {state} whole to the jit-compiled `{step}` every step, so each call flattens "
        f"and unflattens the pytrees; run the loop on flattened leaves ({GAIN[kind]})"
    )


def _finding(ctx, step: StepCall) -> Finding:
    message = _message(step.jitted.name, step.carried, step.jitted.kind)
    problem = _problem(ctx, step)
    if problem:
        return ctx.finding(step.assign, f"{message}; no fix: {problem}")
    fix = flat_loop_fix(ctx, step)
    if isinstance(fix, str):
        return ctx.finding(step.assign, f"{message}; no fix: {fix}")
    return ctx.finding(step.assign, message, fix)


def _problem(ctx, step: StepCall) -> str | None:
    """Why the fix could change what the program computes, if it could."""
    unsupported = unsupported_jit_options(step.jitted)
    if unsupported:
        return unsupported
    rebound = _rebound_in_loop(ctx, step)
    if rebound:
        return f"`{rebound}` is rebound elsewhere in the loop, so its structure may change"
    reader = _deferred_reader(ctx, step)
    if reader:
        return reader
    introspection = _introspection(step)
    if introspection:
        return introspection
    return None


def _rebound_in_loop(ctx, step: StepCall) -> str | None:
    targets = {id(n) for n in target_name_nodes(step.assign.targets[0].target)}
    for name in step.carried:
        for site in step.scope.bindings.get(name, []):
            if id(site) not in targets and ctx.is_inside(site, step.loop):
                return name
    return None


def _deferred_reader(ctx, step: StepCall) -> str | None:
    """A function or lambda that reads (or declares) the state of the loop's scope and may run while
    the loop runs: it would see the state as it was before the loop."""
    carried = set(step.carried)
    for scope in step.scope.descendants():
        declared = sorted(n for n in carried & (scope.globals | scope.nonlocals) if step.scope.resolve(n) is step.scope)
        if declared:
            return f"{_describe(scope)} declares `{declared[0]}` global or nonlocal"
        if not scope.deferred:
            continue
        read = next((load for load in scope.loads if load.value in carried and scope.resolve(load.value) is step.scope), None)
        if read is not None and _may_run_during_loop(ctx, step, scope, set()):
            where = "as a global" if step.scope.parent is None else "through its closure"
            return f"{_describe(scope)} reads `{read.value}` {where}, and would not see it change while the loop runs"
    return None


def _may_run_during_loop(ctx, step: StepCall, scope: Scope, seen: set[int]) -> bool:
    """Whether a function can be called while the loop runs. It cannot when every reference to it
    is a call outside the loop (before the loop it sees the same state, after it the unflattened
    one), or a call from a function that cannot run during the loop either. A lambda,
    a method, a decorated function or one handed around as a value may run at any time."""
    node = scope.node
    if not isinstance(node, cst.FunctionDef) or node.decorators or isinstance(scope.parent.node, cst.ClassDef):
        return True
    if id(scope) in seen:
        return False
    seen.add(id(scope))
    name, owner = node.name.value, scope.parent
    for caller in (owner, *owner.descendants()):
        for load in caller.loads:
            if load.value != name or caller.resolve(name) is not owner:
                continue
            if ctx.is_inside(load, step.loop) or not _called_at_once(ctx, load):
                return True
            if caller.deferred and _may_run_during_loop(ctx, step, caller, seen):
                return True
    return False


def _called_at_once(ctx, load: cst.Name) -> bool:
    """`f(...)`, or `transform(f, ...)(...)` (`jax.vmap(f)(x)`): called where it is referenced, not
    kept for later."""
    parent = ctx.parent(load)
    if isinstance(parent, cst.Call) and parent.func is load:
        return True
    transform = ctx.parent(parent) if isinstance(parent, cst.Arg) else None
    applied = ctx.parent(transform) if isinstance(transform, cst.Call) else None
    return isinstance(applied, cst.Call) and applied.func is transform


def _describe(scope: Scope) -> str:
    node = scope.node
    if isinstance(node, cst.FunctionDef):
        return f"`{node.name.value}`"
    if isinstance(node, cst.ClassDef):
        return f"class `{node.name.value}`"
    return "a lambda"


def _introspection(step: StepCall) -> str | None:
    scopes = [step.scope, *step.scope.descendants()] if step.scope.parent is None else [step.scope]
    for scope in scopes:
        for call in scope.introspection:
            name = call.func.value if isinstance(call.func, cst.Name) else call.func.attr.value
            if name == "vars" and call.args:
                continue  # `vars(obj)` reads an object, not a scope
            return f"`{name}()` can read the state without naming it"
    return None
