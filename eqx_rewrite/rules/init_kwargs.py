from __future__ import annotations

import re
import textwrap
from dataclasses import dataclass, field
from typing import Iterator

import libcst as cst

from ..index import ClassInfo, dotted
from ..rule import Edit, Finding, Fix, Rule, Safety, register
from ._calls import calls_in
from ._init_only import InitOnly
from ._layer_stacks import assigned_self_field, first_assignments, method_statements, self_attribute
from ._names import fresh, names_in, param_names, target_names
from ._uniform_init import Uniform, uniform_form, uniform_lines

INIT_NAME = re.compile(r"^(?:\w+_(?:init|initializer|initialiser|init_fn)|init_\w+)$")
TREE_AT = "equinox.tree_at"
TREE_LEAVES = "jax.tree_util.tree_leaves"
# Calls that give the same value for the same arguments, so the helper may evaluate them again.
PURE_CALLS = ("jax.random.PRNGKey", "jax.random.key", "jax.random.split", "jax.random.fold_in")
PURE_BUILTINS = ("range", "zip", "enumerate", "len")
CONSTANTS = ("None", "True", "False")


@register
class InitKwargs(Rule):
    """## What it does
    Finds Module constructors with per-layer initialiser arguments (`hidden_weight_init=`,
    `kernel_init=`, `init_scale=`...) whose only effect is to replace a sublayer's parameter with
    `eqx.tree_at` inside `__init__`, or to be handed down to a sublayer's constructor that does so
    (threading: `self.block = Block(w, key, proj_init=block_init)`, a list of such blocks built
    by one comprehension, or a factory function `return Model(key, head_init=head_init)`). A
    factory function that builds a model and applies its initialiser arguments to it with
    `eqx.tree_at` is found too, and a layer built and then rebuilt from scratch to apply one
    (reported without a fix). Beyond that `None`-guarded form, any argument whose every use only
    initialises is reported without a fix, whatever its name or default: a scale applied
    unconditionally (`self.linear = eqx.tree_at(..., self.linear.weight * weight_scale)`), a bool flag
    or string switch guarding only such replacements, an argument handed positionally or by keyword
    to layers, `functools.partial` factories or helpers (`normalize_conv(conv, s1, s2)`) that only
    initialise with it, through local variables. Quiet on the helper form itself (a function handed a
    built model), on arguments that also decide structure, shapes or static fields, and on objects
    a layer is derived from (`forward.weight`).

    ## Why is this bad?
    Each initialiser becomes part of the constructor's signature and is threaded down to the layer
    it changes. Equinox's "Custom parameter initialisation" trick is to build the model plainly and
    replace parameters from outside with `eqx.tree_at`: constructors stay small, and any
    initialisation can be applied to any model. There is no speed gain (the recipe costs a few ms at
    build time); it is about structure.

    ## Example
    ```python
    class Head(eqx.Module):
        def __init__(self, size, *, key, hidden_weight_init=None):
            k1, k2 = jr.split(key)
            self.hidden = eqx.nn.Linear(size, size, key=k1)
            if hidden_weight_init is not None:
                self.hidden = eqx.tree_at(lambda l: l.weight, self.hidden, hidden_weight_init(k2, (size, size)))

    model = Head(8, key=key, hidden_weight_init=trunc_normal)
    ```

    ## Use instead
    ```python
    class Head(eqx.Module):
        def __init__(self, size, *, key):
            k1, k2 = jr.split(key)
            self.hidden = eqx.nn.Linear(size, size, key=k1)


    def init_head(model, size, *, key, hidden_weight_init=None):
        k1, k2 = jr.split(key)
        if hidden_weight_init is not None:
            model = eqx.tree_at(lambda l: l.hidden.weight, model, hidden_weight_init(k2, (size, size)))
        return model


    model = init_head(Head(8, key=key), 8, key=key, hidden_weight_init=trunc_normal)
    ```
    The helper derives the keys exactly as the constructor did, so the weights are identical bit
    for bit. Call sites in the same file are rewritten. A class that only hands the argument down
    gets a helper that applies the sublayer's helper to that sublayer; the whole chain is one
    finding on the outermost class, fixed at once. When one initialiser sets the same parameter of
    every layer of a kind, the helper takes the Tricks page's generic form: `is_leaf` over that
    layer type and one `eqx.tree_at` over all of them, each layer still getting its own key.

    ## Fix safety
    Unsafe unless every class whose constructor changes is private to its module (a leading
    underscore): a signature changes, and callers in other files would break. No fix when a call site passes the
    arguments in a way that cannot be repeated (`*args`, `**kwargs`, or an argument expression that
    might not give the same value twice), nor for the unguarded forms: moving an initialisation with
    a default that takes effect out of the constructor would change every construction that relies
    on it. Quiet when an initialiser argument also changes shapes, static fields or control flow.

    ## Verification
    The built model's parameters are equal bit for bit before and after.
    """

    code = "EQX004"
    name = "init-kwargs"
    summary = "per-layer init arguments threaded through a constructor; initialise with `eqx.tree_at`"
    needles = ("is not None", r"\b(?:\w+_(?:init|initializer|initialiser|init_fn)|init_\w+)\s*=\s*None")

    needs_module = True

    @classmethod
    def may_match_text(cls, source: str, settings) -> bool:
        # The `None`-guarded form by its needles; any other init-only argument ends in a tree_at.
        return "tree_at" in source or super().may_match_text(source, settings)

    @staticmethod
    def candidate(f) -> bool:
        return f.init_kwargs_default_none or f.calls_tree_at

    def check(self, ctx) -> Iterator[Finding]:
        plans = _plans(ctx)
        names = _helper_names(ctx, plans)
        # A chain of classes handing initialisers down is one finding, on the outermost class. When
        # that one cannot be fixed, the classes it hands down to are reported on their own.
        queue = [p for p in plans.values() if p is not None and not p.forwarded_from]
        while queue:
            plan = queue.pop(0)
            problem = _problem(ctx, plan)
            yield _finding(ctx, plan, names, problem)
            if problem:
                for forward in plan.forwards:
                    forward.callee.forwarded_from.remove(plan)
                    if not forward.callee.forwarded_from:
                        queue.append(forward.callee)
        covered = {id(p.init) for p in plans.values() if p is not None}
        yield from _unguarded_findings(ctx, covered)


def _unguarded_findings(ctx, covered: set[int]) -> Iterator[Finding]:
    """Init-only arguments the fix cannot move: applied without a `None` guard, with a default that
    takes effect, through a helper, or into layers it cannot follow. Moving them out of the
    constructor would change every construction relying on the default: reported, not fixed."""
    init_only = InitOnly(ctx)
    constructors = [(f"`{c.name}.__init__`", c.methods["__init__"]) for c in ctx.index.module_classes() if "__init__" in c.methods]
    # A function that builds no Module but is handed one is the helper form itself, not a factory.
    factories = [(f"`{name}`", fn) for name, fn in ctx.index.functions.items() if _constructs_a_module(ctx, fn)]
    for label, fn in constructors + factories:
        if id(fn) in covered:
            continue
        params = init_only.params(fn)
        if params:
            names = ", ".join(f"`{p}`" for p in params)
            yield ctx.finding(
                fn,
                f"{label} takes arguments ({names}) only to initialise sublayer parameters with `eqx.tree_at` "
                "(directly, or through the layers and helpers it hands them to); build the model plainly and apply "
                "them from outside with `eqx.tree_at`; no fix: they are not all `None`-guarded initialisers, so "
                "moving them out would change what constructions relying on their defaults build",
            )


def _constructs_a_module(ctx, fn: cst.FunctionDef) -> bool:
    return any(ctx.index.constructed_module(call) is not None for call in calls_in(fn.body))


@dataclass
class Forward:
    """`self.field = Callee(..., callee_param=param)`, or a list of those built by one comprehension:
    the argument is only handed down."""

    param: cst.Param
    field: str | None  # None in a factory: the built model itself
    statement: cst.SimpleStatementLine
    call: cst.Call
    arg: cst.Arg
    callee: Plan
    comprehension: cst.ListComp | None = None

    def reads(self) -> list[cst.BaseExpression]:
        """What the helper re-evaluates: the callee helper's arguments, and the loop's iterable."""
        values = [v for v in _needed_arguments(self.callee, self.call).values() if v is not None]
        return values + ([self.comprehension.for_in.iter] if self.comprehension else [])

    def bound(self) -> set[str]:
        return set(target_names(self.comprehension.for_in.target)) if self.comprehension else set()


@dataclass
class Plan:
    info: ClassInfo
    init: cst.FunctionDef
    params: list[cst.Param]  # the initialiser parameters
    blocks: list[cst.If]  # `if x_init is not None:` blocks to move out
    forwards: list[Forward]  # initialisers handed down to a sublayer's constructor
    setup: list[cst.SimpleStatementLine] = field(default_factory=list)  # statements they need (keys)
    needed: list[str] = field(default_factory=list)  # constructor parameters the helper needs
    calls: list[cst.Call] = field(default_factory=list)
    blocker: str | None = None
    forwarded_from: list[Plan] = field(default_factory=list)
    uniform: dict[int, Uniform] = field(default_factory=dict)  # id(block) -> its generic form
    factory: bool = False  # a module-level function returning the model, not a class
    model: str = "model"  # the helper's name for the model: a factory's own local name for it

    @property
    def label(self) -> str:
        return f"`{self.info.name}`" if self.factory else f"`{self.info.name}.__init__`"

    def chain(self) -> list[Plan]:
        """This class and every class it hands initialisers down to: they are fixed together."""
        return [self, *(p for f in self.forwards for p in f.callee.chain())]


def _plans(ctx) -> dict[str, Plan | None]:
    plans: dict[str, Plan | None] = {}
    for info in ctx.index.module_classes():
        _plan(ctx, info, plans)
    for name, function in ctx.index.functions.items():
        if name not in plans:
            plans[name] = _factory_plan(ctx, name, function, plans)
    for plan in plans.values():
        for forward in plan.forwards if plan else ():
            forward.callee.forwarded_from.append(plan)
    for plan in plans.values():
        if plan is not None and len(plan.forwarded_from) > 1:
            plan.blocker = f"several classes hand initialisers down to `{plan.info.name}`"
    return plans


def _plan(ctx, info: ClassInfo, plans: dict[str, Plan | None]) -> Plan | None:
    if info.name in plans:
        return plans[info.name]
    plans[info.name] = None  # a class that hands initialisers down to itself gets no plan
    init = info.methods.get("__init__")
    if init is None:
        return None
    params = _init_params(init)
    statements = method_statements(init)
    blocks, forwards, rebuilt = [], [], []
    for param in params:
        uses = names_in(init.body).loads_of(param.name.value)
        block = _guard_block(statements, param.name.value)
        only_inside = block is not None and all(ctx.is_inside(use, block) for use in uses)
        if only_inside and _only_tree_ats(ctx, block):
            blocks.append(block)
            continue
        if only_inside and _rebuilds_fields(block, statements):
            blocks.append(block)
            rebuilt.append(param.name.value)
            continue
        forward = _forward(ctx, statements, param, uses, plans)
        if forward is None:
            return None  # the argument does more than initialise: shapes, static fields, control flow
        forwards.append(forward)
    if not params:
        return None
    plan = Plan(info, init, params, blocks, forwards)
    if rebuilt:
        plan.blocker = (
            f"a layer is built, then rebuilt from scratch when `{rebuilt[0]}` is given; that the two differ only "
            "in the initialised parameter cannot be told without running them: build it once and replace the "
            "parameter with `eqx.tree_at`"
        )
    else:
        plan.uniform = {id(b): u for b in blocks if (u := uniform_form(ctx, info, statements, b)) is not None}
    _complete(ctx, plan, statements)
    plans[info.name] = plan
    return plan


def _init_params(function: cst.FunctionDef) -> list[cst.Param]:
    return [
        p for p in [*function.params.params, *function.params.kwonly_params]
        if INIT_NAME.match(p.name.value) and isinstance(p.default, cst.Name) and p.default.value == "None"
    ]


def _factory_plan(ctx, name: str, function: cst.FunctionDef, plans) -> Plan | None:
    """A function that builds a model, and either hands its initialisers to the model's constructor
    or applies them with `eqx.tree_at` to the model it returns."""
    params = _init_params(function)
    if not params:
        return None
    statements = method_statements(function)
    model = _returned_name(statements)
    if model in param_names(function):
        return None  # it initialises a model it is given (our own helpers do): it builds nothing
    blocks, forwards = [], []
    for param in params:
        uses = names_in(function.body).loads_of(param.name.value)
        block = _guard_block(statements, param.name.value)
        if model and block is not None and all(ctx.is_inside(u, block) for u in uses) and _only_tree_ats(ctx, block, model):
            blocks.append(block)
            continue
        forward = _factory_forward(ctx, statements, model, param, uses, plans)
        if forward is None:
            return None
        forwards.append(forward)
    plan = Plan(ClassInfo(name, function, []), function, params, blocks, forwards, factory=True, model=model or "model")
    _complete(ctx, plan, statements)
    return plan


def _returned_name(statements) -> str | None:
    last = statements[-1] if statements else None
    small = last.body[0] if isinstance(last, cst.SimpleStatementLine) and len(last.body) == 1 else None
    return small.value.value if isinstance(small, cst.Return) and isinstance(small.value, cst.Name) else None


def _complete(ctx, plan: Plan, statements) -> None:
    """What the helper needs, the call sites to rewrite, and whether anything blocks the fix."""
    _collect_setup(ctx, plan, statements)
    plan.calls = list(ctx.once(_calls_by_callee, ctx.index).get(plan.info.name, ()))
    # A plan that hands initialisers to a class that cannot be fixed cannot be fixed either.
    blocked = next((f.callee for f in plan.forwards if f.callee.blocker), None)
    if blocked is not None and plan.blocker is None:
        plan.blocker = f"`{blocked.info.name}`, which it hands them down to, cannot be fixed: {blocked.blocker}"


def _calls_by_callee(index) -> dict[str, list[cst.Call]]:
    """The module's calls by the dotted name they call, in order: asked once per plan."""
    found: dict[str, list[cst.Call]] = {}
    for call in index.calls:
        found.setdefault(dotted(call.func), []).append(call)
    return found


def _handed_to(ctx, uses: list[cst.Name]) -> tuple[cst.Arg, cst.Call] | None:
    """The argument's one use is as `x_init=param` in a call of a plain name, such as a class."""
    if len(uses) != 1:
        return None
    arg = ctx.parent(uses[0])
    call = ctx.parent(arg) if isinstance(arg, cst.Arg) else None
    if isinstance(call, cst.Call) and arg.keyword is not None and isinstance(call.func, cst.Name):
        return arg, call
    return None


def _factory_forward(ctx, statements, model: str | None, param: cst.Param, uses: list[cst.Name], plans) -> Forward | None:
    """`return Callee(..., x_init=param)`, or `model = Callee(...)` with `return model` last."""
    handed = _handed_to(ctx, uses)
    if handed is None:
        return None
    arg, call = handed
    statement = next((s for s in statements if _builds_returned_model(s, statements, call, model)), None)
    callee = _callee(ctx, call, arg, plans) if statement is not None else None
    return None if callee is None else Forward(param, None, statement, call, arg, callee)


def _builds_returned_model(stmt, statements, call: cst.Call, model: str | None) -> bool:
    """`stmt` is `return call`, or `model = call` with `model` (the name returned last) bound nowhere else."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    if isinstance(small, cst.Return):
        return small.value is call
    if not (model and isinstance(small, cst.Assign) and small.value is call and len(small.targets) == 1):
        return False
    rebinds = [s for s in statements if s is not stmt and model in names_in(s).bound]
    return dotted(small.targets[0].target) == model and not rebinds


def _callee(ctx, call: cst.Call, arg: cst.Arg, plans) -> Plan | None:
    """The plan of the class `call` builds, when `arg` names one of its initialiser parameters."""
    info = ctx.index.classes.get(call.func.value)
    callee = _plan(ctx, info, plans) if info is not None else None
    if callee is None or arg.keyword.value not in {p.name.value for p in callee.params}:
        return None
    return callee


def _forward(ctx, statements, param: cst.Param, uses: list[cst.Name], plans) -> Forward | None:
    """The argument's one use is `self.f = Callee(..., x_init=param)`, with `Callee` a class of ours."""
    handed = _handed_to(ctx, uses)
    if handed is None:
        return None
    arg, call = handed
    comprehension = _layer_comprehension(ctx, call)
    built = comprehension or call
    statement = next((s for s in statements if (assigned_self_field(s) or (None, None))[1] is built), None)
    callee = _callee(ctx, call, arg, plans) if statement is not None else None
    if callee is None:
        return None
    return Forward(param, assigned_self_field(statement)[0], statement, call, arg, callee, comprehension)


def _layer_comprehension(ctx, call: cst.Call) -> cst.ListComp | None:
    """`[Callee(...) for target in iterable]`, one plain `for`, when `call` is its element."""
    parent = ctx.parent(call)
    if isinstance(parent, cst.ListComp) and parent.elt is call:
        loop = parent.for_in
        if loop.inner_for_in is None and not loop.ifs and loop.asynchronous is None:
            return parent
    return None


def _guard_block(statements, name: str) -> cst.If | None:
    """The top-level `if name is not None:` statement of `__init__`, without an else."""
    for stmt in statements:
        if isinstance(stmt, cst.If) and stmt.orelse is None:
            test = stmt.test
            if (
                isinstance(test, cst.Comparison)
                and isinstance(test.left, cst.Name)
                and test.left.value == name
                and len(test.comparisons) == 1
                and isinstance(test.comparisons[0].operator, cst.IsNot)
                and isinstance(test.comparisons[0].comparator, cst.Name)
                and test.comparisons[0].comparator.value == "None"
            ):
                return stmt
    return None


def _only_tree_ats(ctx, block: cst.If, model: str | None = None) -> bool:
    """Every statement is `T = eqx.tree_at(where, T, value)`: `T` is `self.<field>` in a class
    (whose `where` must be a one-parameter lambda, to be composed onto the field), or a factory's
    `model`. The helper writes these as `eqx.tree_at`, so no other function may stand there."""
    body = block.body.body if isinstance(block.body, cst.IndentedBlock) else ()
    for stmt in body:
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
            return False
        target = dotted(small.targets[0].target)
        if target is None or (target != model if model else self_attribute(small.targets[0].target) is None):
            return False
        call = small.value
        if not (isinstance(call, cst.Call) and ctx.index.qualified_name(call.func) == TREE_AT and len(call.args) == 3):
            return False
        if dotted(call.args[1].value) != target or any(a.keyword or a.star for a in call.args):
            return False
        where = call.args[0].value
        if model is None and not (isinstance(where, cst.Lambda) and len(where.params.params) == 1):
            return False
    return bool(body)


def _rebuilds_fields(block: cst.If, statements) -> bool:
    """Every statement builds a field again with the constructor that first built it."""
    body = block.body.body if isinstance(block.body, cst.IndentedBlock) else ()
    built = first_assignments(statements)
    for stmt in body:
        assigned = assigned_self_field(stmt)
        if assigned is None or not isinstance(assigned[1], cst.Call):
            return False
        name, call = assigned
        first = built.get(name)
        if not isinstance(first, cst.Call) or dotted(first.func) is None or dotted(call.func) != dotted(first.func):
            return False
    return bool(body)


def _collect_setup(ctx, plan: Plan, statements) -> None:
    """Statements defining the names the helper reads, and the constructor parameters behind them.

    The helper reads what the blocks read, and the arguments a handed-down initialiser's own helper
    needs from the sublayer's constructor call.
    """
    init_params = [p for p in param_names(plan.init) if p != "self"]
    moved = {p.name.value for p in plan.params}
    handed = [v for f in plan.forwards for v in f.reads()]
    block_names = [names_in(b) for b in plan.blocks] + [names_in(v) for v in handed]
    wanted = {n.value for names in block_names for n in names.loads} - moved - {"self", *CONSTANTS}
    wanted -= {n for names in block_names for n in names.bound}  # lambda parameters and the like
    wanted -= {n for f in plan.forwards for n in f.bound()}  # a comprehension's own targets
    if plan.factory:
        wanted.discard(plan.model)  # the helper's first parameter
    first_block = min(ctx.span(b)[0] for b in [*plan.blocks, *(f.statement for f in plan.forwards)])
    for stmt in reversed([s for s in statements if ctx.span(s)[0] < first_block]):
        if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
            continue
        small = stmt.body[0]
        if not isinstance(small, cst.Assign):
            continue
        bound = {n for t in small.targets for n in target_names(t.target)}
        if bound & wanted:
            reads = names_in(small.value)
            if reads.reads("self"):
                plan.blocker = "the initialisers depend on values computed from `self`"
                return
            plan.setup.insert(0, stmt)
            wanted = (wanted - bound) | {n.value for n in reads.loads}
    unrepeatable = next((v for v in handed if not _repeatable(ctx, v)), None)
    if unrepeatable is not None:
        plan.blocker = f"`{ctx.text(unrepeatable)}` may not give the same value twice"
    plan.needed = [p for p in init_params if p in wanted and p not in moved]
    local_names = {n for s in plan.setup for small in s.body for t in small.targets for n in target_names(t.target)}
    unresolved = wanted - set(init_params) - local_names
    computed = sorted(name for name in unresolved if _assigned_in(ctx, plan.init, name))
    if computed:
        plan.blocker = f"the initialisers read `{computed[0]}`, computed in `__init__`"


def _assigned_in(ctx, fn: cst.FunctionDef, name: str) -> bool:
    return name in names_in(fn.body).bound


# --- finding and fix ------------------------------------------------------------------------------
def _problem(ctx, plan: Plan) -> str | None:
    """Why the chain starting at `plan` cannot be fixed, if it cannot."""
    chain = plan.chain()
    problems = (p.blocker or _call_problem(ctx, p, chain) for p in chain)
    return next((problem for problem in problems if problem), None)


def _finding(ctx, plan: Plan, helpers: dict[str, str], problem: str | None) -> Finding:
    names = ", ".join(f"`{p.name.value}`" for p in plan.params)
    handed = ", ".join(f"`{f.callee.info.name}`" for f in plan.forwards)
    message = (
        f"{plan.label} takes initialiser arguments ({names}) only to "
        + (f"hand them down to {handed}" if not plan.blocks else "replace sublayer parameters")
        + "; build the model plainly and apply them from outside with `eqx.tree_at`"
    )
    if problem:
        return ctx.finding(plan.init, f"{message}; no fix: {problem}")
    chain = plan.chain()
    public = [p.info.name for p in chain if not p.info.name.startswith("_")]
    if public:
        message += f"; the fix is unsafe: it changes the signature of `{public[0]}`, which other files may call"
    return ctx.finding(plan.init, message, _fix(ctx, chain, helpers, Safety.UNSAFE if public else Safety.SAFE))


def _internal_calls(chain: list[Plan]) -> set[int]:
    """Constructor calls inside the chain that hand an initialiser down: their argument is removed."""
    return {id(f.call) for p in chain for f in p.forwards}


def _call_problem(ctx, plan: Plan, chain: list[Plan]) -> str | None:
    moved = {p.name.value for p in plan.params}
    internal = _internal_calls(chain)
    for call in plan.calls:
        if id(call) in internal or not any(a.keyword is not None and a.keyword.value in moved for a in call.args):
            continue
        if any(a.star for a in call.args):
            return f"a call passes `*args`/`**kwargs` (line {ctx.lines.position(ctx.span(call)[0]).row})"
        for value in _needed_arguments(plan, call).values():
            if value is not None and not _repeatable(ctx, value):
                return f"`{ctx.text(value)}` may not give the same value twice"
    return None


def _needed_arguments(plan: Plan, call: cst.Call) -> dict[str, cst.BaseExpression | None]:
    positional = [p.name.value for p in plan.init.params.params if p.name.value != "self"]
    given = {positional[i]: a.value for i, a in enumerate(a for a in call.args if a.keyword is None) if i < len(positional)}
    given.update({a.keyword.value: a.value for a in call.args if a.keyword is not None})
    return {name: given.get(name) for name in plan.needed}


def _repeatable(ctx, node: cst.BaseExpression) -> bool:
    """Evaluating it twice gives the same value: names, constants, subscripts and containers of
    those, and pure calls (`jr.split`, `range`, ...) of those."""
    if isinstance(node, (cst.Name, cst.Integer, cst.Float, cst.SimpleString, cst.Attribute)):
        return True
    if isinstance(node, cst.Call) and (ctx.index.qualified_name(node.func) in PURE_CALLS or dotted(node.func) in PURE_BUILTINS):
        return all(_repeatable(ctx, a.value) for a in node.args)
    if isinstance(node, cst.Subscript):
        return _repeatable(ctx, node.value) and all(
            isinstance(s.slice, cst.Index) and _repeatable(ctx, s.slice.value) for s in node.slice
        )
    if isinstance(node, (cst.Tuple, cst.List)):
        return all(_repeatable(ctx, e.value) for e in node.elements)
    return False


def _helper_names(ctx, plans: dict[str, Plan | None]) -> dict[str, str]:
    """`init_<class>` for each class with a plan, unique in the file."""
    taken = set(ctx.index.names)
    names = {}
    for class_name, plan in plans.items():
        if plan is None:
            continue
        snake = re.sub(r"(?<!^)(?=[A-Z])", "_", class_name).lower().lstrip("_")
        name = f"init_{snake}"
        while name in taken:
            name += "_weights"
        taken.add(name)
        names[class_name] = name
    return names


def _fix(ctx, chain: list[Plan], helpers: dict[str, str], safety: Safety) -> Fix:
    tree_at, imports = ctx.name_for(TREE_AT)
    internal = _internal_calls(chain)
    edits: list[Edit] = []
    for plan in chain:
        edits.append(_signature_edit(ctx, plan))
        edits += _block_removals(ctx, plan)
        edits += [_without_argument(ctx, f.call, f.arg) for f in plan.forwards]
        edits += _helper_edits(ctx, plan, helpers, tree_at)
        edits += _call_edits(ctx, plan, helpers[plan.info.name], internal)
    names = ", ".join(f"`{helpers[p.info.name]}`" for p in chain)
    return Fix(safety, f"Move the initialisers into {names}, applied after construction", tuple(edits + imports))


def _block_removals(ctx, plan: Plan) -> list[Edit]:
    """Delete the guard blocks; a body left with nothing in it keeps a `pass`."""
    edits = [ctx.delete_lines(block) for block in plan.blocks]
    if edits and len(method_statements(plan.init)) == len(plan.blocks):
        first = edits[0]
        edits[0] = Edit(first.start, first.end, f"{ctx.indent_of(plan.blocks[0])}pass\n")
    return edits


def _signature_edit(ctx, plan: Plan) -> Edit:
    moved = {id(p) for p in plan.params}
    params = plan.init.params
    kwonly = [p for p in params.kwonly_params if id(p) not in moved]
    bare_star = isinstance(params.star_arg, cst.ParamStar) and not kwonly
    kept = params.with_changes(
        params=[p for p in params.params if id(p) not in moved],
        star_arg=cst.MaybeSentinel.DEFAULT if bare_star else params.star_arg,
        kwonly_params=kwonly,
    )
    kept = _fix_commas(kept)
    return ctx.replace(params, cst.Module([]).code_for_node(kept))


def _fix_commas(params: cst.Parameters) -> cst.Parameters:
    """The last parameter loses a comma the removed one needed after it."""
    ordered = [*params.params, *params.kwonly_params]
    if not ordered or params.star_kwarg is not None:
        return params
    last = ordered[-1]
    bare = last.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    if params.kwonly_params:
        return params.with_changes(kwonly_params=[*params.kwonly_params[:-1], bare])
    return params.with_changes(params=[*params.params[:-1], bare])


def _without_argument(ctx, call: cst.Call, arg: cst.Arg) -> Edit:
    """`Block(w, k, proj_init=block_init)` -> `Block(w, k)`: the sublayer is built plainly."""
    args = [a for a in call.args if a is not arg]
    if args and call.args[-1] is arg:
        args[-1] = args[-1].with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return ctx.replace(call, cst.Module([]).code_for_node(call.with_changes(args=args)))


def _helper_edits(ctx, plan: Plan, helpers: dict[str, str], tree_at: str) -> list[Edit]:
    """The helper after the class, and the import its generic form needs."""
    positional = [p.name.value for p in plan.init.params.params if p.name.value in plan.needed]
    keyword = [p.name.value for p in plan.init.params.kwonly_params if p.name.value in plan.needed]
    signature = [plan.model, *positional, "*", *keyword, *(f"{p.name.value}=None" for p in plan.params)]
    lines = [f"def {helpers[plan.info.name]}({', '.join(signature)}):"]
    lines.append(f'    """Apply `{plan.info.name}`\'s custom initialisers to a built model with `eqx.tree_at` (EQX004)."""')
    lines += ["    " + ctx.text(s) for s in plan.setup]
    imports: list[Edit] = []
    steps = []
    for block in plan.blocks:
        uniform = plan.uniform.get(id(block))
        if plan.factory:  # already applied to the built model: the block moves as it is
            text = textwrap.dedent(ctx.indent_of(block) + ctx.text(block))
            steps.append((ctx.span(block)[0], textwrap.indent(text, "    ").splitlines()))
            continue
        if uniform is None:
            steps.append((ctx.span(block)[0], _block_lines(ctx, block, tree_at)))
            continue
        tree_leaves, imports = ctx.name_for(TREE_LEAVES)
        taken = set(ctx.index.names) | names_in(plan.init).bound | {n.value for n in names_in(plan.init).loads}
        steps.append((ctx.span(block)[0], uniform_lines(ctx, uniform, block.test.left.value, taken, tree_at, tree_leaves)))
    steps += [(ctx.span(f.statement)[0], _forward_lines(ctx, f, helpers, tree_at, plan.model)) for f in plan.forwards]
    lines += [line for _, step in sorted(steps, key=lambda s: s[0]) for line in step]
    lines.append(f"    return {plan.model}")
    return [ctx.insert_after(plan.info.node, ctx.render("\n".join(lines), plan.info.node)), *imports]


def _block_lines(ctx, block: cst.If, tree_at: str) -> list[str]:
    lines = [f"    {ctx.text(block.test).join(['if ', ':'])}"]
    for stmt in block.body.body:
        field_name, value = assigned_self_field(stmt)
        where, replacement = value.args[0].value, value.args[2].value
        lines.append(f"        model = {tree_at}({_composed_where(ctx, where, field_name)}, model, {_on_model(ctx, replacement)})")
    return lines


def _forward_lines(ctx, forward: Forward, helpers: dict[str, str], tree_at: str, model: str) -> list[str]:
    """The sublayer's own helper, applied to the sublayer inside the built model."""
    callee = forward.callee
    loop = forward.comprehension.for_in if forward.comprehension else None
    if forward.field is None:  # a factory's model is the callee's model
        layer = model
    else:
        layer = fresh(set(ctx.index.names) | forward.bound(), "layer") if loop else f"{model}.{forward.field}"
    args = [layer, *_helper_arguments(ctx, callee, forward.call)]
    args.append(f"{forward.arg.keyword.value}={forward.param.name.value}")
    inner = f"{helpers[callee.info.name]}({', '.join(args)})"
    if loop is not None:
        target = ctx.text(loop.target)
        target = f"({target})" if isinstance(loop.target, cst.Tuple) and not loop.target.lpar else target
        inner = f"[{inner} for {layer}, {target} in zip({model}.{forward.field}, {ctx.text(loop.iter)})]"
    replaced = inner if forward.field is None else f"{tree_at}(lambda m: m.{forward.field}, {model}, {inner})"
    return [f"    if {forward.param.name.value} is not None:", f"        {model} = {replaced}"]


def _composed_where(ctx, where: cst.Lambda, field_name: str) -> str:
    """`lambda l: l.weight` applied to `self.hidden` becomes `lambda l: l.hidden.weight`."""
    param = where.params.params[0].name.value
    loads = names_in(where.body).loads_of(param)
    start, end = ctx.span(where)
    return ctx.text_with(start, end, [(n, f"{param}.{field_name}") for n in loads])


def _on_model(ctx, node: cst.BaseExpression) -> str:
    start, end = ctx.span(node)
    return ctx.text_with(start, end, [(n, "model") for n in names_in(node).loads_of("self")])


def _call_edits(ctx, plan: Plan, helper: str, internal: set[int]) -> list[Edit]:
    moved = {p.name.value for p in plan.params}
    replacements = []
    for call in plan.calls:
        init_args = [a for a in call.args if a.keyword is not None and a.keyword.value in moved]
        if not init_args or id(call) in internal:
            continue
        kept = [a for a in call.args if a not in init_args]
        construct = f"{ctx.text(call.func)}({', '.join(ctx.text(a).rstrip(', ') for a in kept)})"
        args = [construct, *_helper_arguments(ctx, plan, call), *(ctx.text(a).rstrip(", ") for a in init_args)]
        replacements.append((call, f"{helper}({', '.join(args)})"))
    return ctx.rewrite_expressions(replacements)


def _helper_arguments(ctx, plan: Plan, call: cst.Call) -> list[str]:
    """What a constructor call gave the parameters the helper needs, positional ones first."""
    needed = _needed_arguments(plan, call)
    positional = [p.name.value for p in plan.init.params.params if p.name.value in plan.needed]
    args = [_argument_text(ctx, plan, name, needed[name]) for name in positional]
    args += [f"{name}={_argument_text(ctx, plan, name, needed[name])}" for name in plan.needed if name not in positional]
    return args


def _argument_text(ctx, plan: Plan, name: str, value: cst.BaseExpression | None) -> str:
    if value is not None:
        return ctx.text(value)
    param = next(p for p in [*plan.init.params.params, *plan.init.params.kwonly_params] if p.name.value == name)
    return ctx.text(param.default)
