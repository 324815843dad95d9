from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from ..index import dotted
from ..project import imports_jitted
from ..rule import Edit, Finding, Fix, Rule, Safety, register
from ._names import fresh, names_in, target_names

FILTER_JIT = "equinox.filter_jit"
JAX_JIT = "jax.jit"
PARTIALS = ("functools.partial",)
FLATTENED_BY = ("jax.tree_util.tree_flatten", "jax.tree_util.tree_leaves", "jax.tree.flatten", "jax.tree.leaves")
ARGNUMS = ("static_argnums", "donate_argnums")
# A step from another module is reported only when it carries model-and-optimiser-like state: a lone
# carried value there is mostly numerical code threading one array (`acc = _where(..., acc)`), where
# flattening gains nothing and the report would be noise.
MIN_IMPORTED_STATE = 2


@register
class PytreeStepLoop(Rule):
    """## What it does
    Finds a Python `for`/`while` loop that calls a jit-compiled step function (`eqx.filter_jit` or
    `jax.jit`), passing it whole pytrees that it rebinds from the result:
    `model, opt_state = make_step(model, opt_state, x, y)`. The step is defined in the same module,
    or imported from another file checked in the same run (`from steps import make_step`,
    `steps.make_step`); then at least two pytrees must be carried.

    ## Why is this bad?
    Every call flattens the model and optimiser state on the way in and unflattens them on the way
    out: a fixed cost per step that dominates small models. Measured on a 2-core CPU: per-step time
    0.58x for a tiny MLP and 0.45x for a 100-leaf model under `filter_jit` once the loop runs on
    flattened leaves; final parameters bit-for-bit identical.

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
    `make_step_flat` is generated beside `make_step`, compiled the same way: it unflattens, calls
    `make_step`, and flattens the results, raising at trace time if the step changed the state's
    structure (unflattening a mismatched leaf list would silently corrupt it). `make_step` keeps
    working for its other callers. Other reads of the state inside the loop (evaluation, logging)
    read it unflattened.

    ## Fix safety
    Safe when the step function and the loop are in this module and every use of the state in the
    loop is rewritten. Reported without a fix when the step is compiled in another module (the flat
    variant would have to be generated there, for that module's other callers too; checking the
    loop's file alone cannot see that module, so it stays quiet), when the state is rebound
    elsewhere in the loop (its structure may change: a re-initialised optimiser, a swapped model),
    when the step is a bound method, or when `jax.jit` arguments cannot be renumbered.

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
        jitted = _jitted_functions(ctx)
        methods = _jitted_methods(ctx)
        for assign in ctx.index.assigns:
            call = assign.value
            if not isinstance(call, cst.Call) or len(assign.targets) != 1:
                continue
            carried = _carried(assign, call)
            step = call.func.attr.value if isinstance(call.func, cst.Attribute) else dotted(call.func)
            imported = _imported_jitted(ctx, call) if len(carried) >= MIN_IMPORTED_STATE else None
            if not carried or (step not in jitted and step not in methods and imported is None):
                continue  # cheap tests first: finding the loop needs the parent map
            loop = _innermost_loop(ctx, assign)
            if loop is None:
                continue
            if isinstance(call.func, cst.Attribute) and call.func.attr.value in methods:
                yield ctx.finding(assign, _message(cst.Module([]).code_for_node(call.func), carried) + "; no fix: the step is a bound method")
                continue
            if imported is not None and not _already_flat(ctx, loop, carried):
                message = _message(dotted(call.func) or imported, carried)
                yield ctx.finding(assign, f"{message}; no fix: the step is compiled in another module (`{imported}`)")
                continue
            name = dotted(call.func)
            if name not in jitted or _already_flat(ctx, loop, carried):
                continue
            yield _finding(ctx, assign, call, loop, jitted[name], carried)


@dataclass
class Jitted:
    name: str
    function: cst.FunctionDef  # the Python function that is compiled
    anchor: cst.CSTNode  # the statement after which the flat variant goes
    kind: str  # FILTER_JIT or JAX_JIT
    options: list[cst.Arg]  # the keyword arguments given to the jit


def _jit_of(ctx, expr: cst.BaseExpression) -> tuple[str, list[cst.Arg]] | None:
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


def _jitted_functions(ctx) -> dict[str, Jitted]:
    found = {}
    for name, fn in ctx.index.functions.items():
        for decorator in fn.decorators:
            jit = _jit_of(ctx, decorator.decorator)
            if jit is not None:
                found[name] = Jitted(name, fn, fn, *jit)
    for statement in ctx.module.body:
        assigned = _module_assignment(statement)
        if assigned is None:
            continue
        name, value = assigned
        if isinstance(value, cst.Call) and value.args and ctx.index.qualified_name(value.func) in (FILTER_JIT, JAX_JIT):
            inner = dotted(value.args[0].value)
            fn = ctx.index.functions.get(inner or "")
            if fn is not None and all(a.keyword is not None for a in value.args[1:]):
                found[name] = Jitted(name, fn, statement, ctx.index.qualified_name(value.func), list(value.args[1:]))
    return found


def _module_assignment(statement: cst.CSTNode) -> tuple[str, cst.BaseExpression] | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1:
        small = statement.body[0]
        if isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
            return small.targets[0].target.value, small.value
    return None


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
        if any(_jit_of(ctx, d.decorator) for d in fn.decorators)
    }


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


def _already_flat(ctx, loop, carried: list[str]) -> bool:
    """State flattened before the loop (the Tricks page's own form, or our fix) is left alone."""
    for assign in ctx.index.assigns:
        value = assign.value
        if isinstance(value, cst.Call) and ctx.index.qualified_name(value.func) in FLATTENED_BY:
            if set(carried) & {n for t in assign.targets for n in target_names(t.target)}:
                return True
    return False


def _message(step: str, carried: list[str]) -> str:
    state = ", ".join(f"`{c}`" for c in carried)
    return (
        f"the loop passes {state} whole to the jit-compiled `{step}` every step, so each call flattens "
        "and unflattens the pytrees; run the loop on flattened leaves (measured 0.45-0.76x per-step time "
        "for small models)"
    )


def _finding(ctx, assign, call, loop, jitted: Jitted, carried: list[str]) -> Finding:
    message = _message(jitted.name, carried)
    problem = _problem(ctx, assign, call, loop, jitted, carried)
    if problem:
        return ctx.finding(assign, f"{message}; no fix: {problem}")
    return ctx.finding(assign, message, _fix(ctx, assign, call, loop, jitted, carried))


def _problem(ctx, assign, call, loop, jitted: Jitted, carried: list[str]) -> str | None:
    params = jitted.function.params
    if isinstance(params.star_arg, cst.Param) or isinstance(params.star_kwarg, cst.Param) or params.posonly_params:
        return f"`{jitted.name}` takes *args, **kwargs or positional-only parameters"
    if any(a.star for a in call.args) or len([a for a in call.args if a.keyword is None]) > len(params.params):
        return "the call's arguments cannot be matched to the step's parameters"
    for other in ctx.index.assigns:
        if other is assign or not ctx.is_inside(other, loop):
            continue
        rebound = set(carried) & {n for t in other.targets for n in target_names(t.target)}
        if rebound:
            return f"`{sorted(rebound)[0]}` is rebound elsewhere in the loop, so its structure may change"
    if jitted.kind == JAX_JIT and not _renumberable(jitted.options):
        return "the `jax.jit` arguments cannot be renumbered for the flat variant"
    if _reads_in_closures(ctx, loop, carried, assign):
        return "the loop captures the state in a nested function"
    return None




def _renumberable(options: list[cst.Arg]) -> bool:
    for option in options:
        if option.keyword.value in ARGNUMS and _argnums(option.value) is None:
            return False
    return True


def _argnums(node: cst.BaseExpression) -> list[int] | None:
    if isinstance(node, cst.Integer):
        return [int(node.value)]
    if isinstance(node, (cst.Tuple, cst.List)) and all(isinstance(e.value, cst.Integer) for e in node.elements):
        return [int(e.value.value) for e in node.elements]
    return None


def _reads_in_closures(ctx, loop, carried, assign) -> bool:
    for load in names_in(loop).loads:
        if load.value in carried and not ctx.is_inside(load, assign):
            if any(isinstance(a, (cst.Lambda, cst.FunctionDef)) for a in ctx.ancestors_within(load, loop)):
                return True
    return False


# --- the fix -------------------------------------------------------------------------------------


def _fix(ctx, assign, call, loop, jitted: Jitted, carried: list[str]) -> Fix:
    lib = ctx.library()
    taken = set(ctx.index.names)
    flat = {c: fresh(taken, f"flat_{c}") for c in carried}
    treedef = {c: fresh(taken, f"treedef_{c}") for c in carried}
    variant = fresh(taken, f"{jitted.name}_flat")
    indent = ctx.indent_of(loop)
    flatten = [f"{flat[c]}, {treedef[c]} = {lib('jax.tree_util.tree_flatten')}({c})" for c in carried]
    unflatten = [f"{c} = {lib('jax.tree_util.tree_unflatten')}({treedef[c]}, {flat[c]})" for c in carried]
    loop_start = ctx.span(loop)[0]
    loop_end = ctx.line_end(ctx.span(loop)[1])
    edits = [
        Edit(loop_start, loop_start, "".join(line + "\n" + indent for line in flatten)),
        Edit(loop_end, loop_end, "".join("\n" + indent + line for line in unflatten)),
        _call_edit(ctx, assign, call, carried, flat, treedef, variant),
        _variant_edit(ctx, jitted, call, carried, variant, lib),
    ]
    reads = [load for load in names_in(loop).loads if load.value in carried and not ctx.is_inside(load, assign)]
    unflatten_at = lib("jax.tree_util.tree_unflatten")
    edits += ctx.rewrite_expressions([(n, f"{unflatten_at}({treedef[n.value]}, {flat[n.value]})") for n in reads])
    message = f"Run the loop on flattened leaves through a generated `{variant}`"
    return Fix(Safety.SAFE, message, tuple(edits + lib.edits))




def _call_edit(ctx, assign, call, carried, flat, treedef, variant) -> Edit:
    target = assign.targets[0].target
    if isinstance(target, cst.Name):
        target_text = flat.get(target.value, target.value)
    else:
        target_text = ", ".join(flat.get(n, n) for n in target_names(target))
    args = [
        (f"{a.keyword.value}=" if a.keyword else "") + (flat[a.value.value] if isinstance(a.value, cst.Name) and a.value.value in flat else ctx.text(a.value))
        for a in call.args
    ]
    treedefs = "(" + ", ".join(treedef[c] for c in carried) + ("," if len(carried) == 1 else "") + ")"
    text = f"{target_text} = {variant}({', '.join([treedefs, *args])})"
    return ctx.replace(assign, ctx.render(text, ctx.parent(assign)))


def _variant_edit(ctx, jitted: Jitted, call, carried, variant, lib) -> Edit:
    fn = jitted.function
    params = [p.name.value for p in fn.params.params]
    kwonly = [p.name.value for p in fn.params.kwonly_params]
    param_of = _param_of_argument(call, params)
    carried_params = [param_of[c] for c in carried]
    taken = set(params) | set(kwonly)
    treedefs = fresh(taken, "treedefs")
    flat_param = {p: fresh(taken, f"flat_{p}") for p in carried_params}
    signature = [treedefs] + [_param_text(ctx, p, flat_param) for p in fn.params.params]
    if kwonly:
        signature += ["*"] + [_param_text(ctx, p, flat_param) for p in fn.params.kwonly_params]
    results = target_names_of_call(call, ctx)
    # The step's results take the loop's own names; they are only read after the call.
    new_treedef = {c: fresh(taken | set(results), f"treedef_{c}") for c in carried}
    inner_args = params + [f"{k}={k}" for k in kwonly]
    trailing = "," if len(results) == 1 and _tuple_target(call, ctx) else ""
    lines = [f"def {variant}({', '.join(signature)}):"]
    lines.append(f'    """`{jitted.name}` on flattened state, for a loop that keeps its state flat (eqx-rewrite EQX002)."""')
    for i, p in enumerate(carried_params):
        lines.append(f"    {p} = {lib('jax.tree_util.tree_unflatten')}({treedefs}[{i}], {flat_param[p]})")
    lines.append(f"    {', '.join(results)}{trailing} = {jitted.name}({', '.join(inner_args)})")
    for c in carried:
        lines.append(f"    {flat_param[param_of[c]]}, {new_treedef[c]} = {lib('jax.tree_util.tree_flatten')}({c})")
    order = [new_treedef[c] for c in carried]
    lines.append(f"    if ({', '.join(order)}{',' if len(order) == 1 else ''}) != {treedefs}:")
    lines.append(f'        raise ValueError("`{jitted.name}` changed the structure of its state; it cannot run on flattened leaves")')
    returned = [flat_param[param_of[r]] if r in carried else r for r in results]
    lines.append(f"    return {', '.join(returned)}{trailing}")
    decorator = _decorator(ctx, jitted, lib)
    code = decorator + "\n" + "\n".join(lines)
    return ctx.insert_after(jitted.anchor, ctx.render(code, jitted.anchor))


def _param_of_argument(call: cst.Call, params: list[str]) -> dict[str, str]:
    mapping = {}
    for i, arg in enumerate(a for a in call.args if a.keyword is None):
        if isinstance(arg.value, cst.Name) and i < len(params):
            mapping[arg.value.value] = params[i]
    for arg in call.args:
        if arg.keyword is not None and isinstance(arg.value, cst.Name):
            mapping[arg.value.value] = arg.keyword.value
    return mapping


def _param_text(ctx, param: cst.Param, flat_param: dict[str, str]) -> str:
    name = param.name.value
    if name in flat_param:
        return flat_param[name]
    return ctx.text(param).rstrip(", ")


def target_names_of_call(call: cst.Call, ctx) -> list[str]:
    assign = ctx.parent(call)
    return target_names(assign.targets[0].target)


def _tuple_target(call: cst.Call, ctx) -> bool:
    return isinstance(ctx.parent(call).targets[0].target, (cst.Tuple, cst.List))


def _decorator(ctx, jitted: Jitted, lib) -> str:
    if jitted.kind == FILTER_JIT:
        options = ", ".join(ctx.text(a) for a in jitted.options)
        return f"@{lib(FILTER_JIT)}" + (f"({options})" if options else "")
    options = ["static_argnums=(0,)"]
    for arg in jitted.options:
        key = arg.keyword.value
        if key == "static_argnums":
            options[0] = f"static_argnums={tuple([0] + [n + 1 for n in _argnums(arg.value)])}"
        elif key in ARGNUMS:
            options.append(f"{key}={tuple(n + 1 for n in _argnums(arg.value))}")
        else:
            options.append(ctx.text(arg))
    return f"@{lib('functools.partial')}({lib(JAX_JIT)}, {', '.join(options)})"
