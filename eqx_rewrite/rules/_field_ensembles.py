"""EQX003's Module-field ensembles: identical members held by a Module, evaluated side by side in its
methods. Reported without a fix: stacking them changes the Module's pytree layout (its checkpoints)
and every method that reaches a member, which this rule does not rewrite yet.

Three shapes: a field built by one comprehension or append loop
(`self.nets = [MLP(..., key=k) for k in keys]`), evaluated member by member, each on inputs no other
member produced: by comprehensions over it (`jnp.stack([net(x) for net in self.nets])`, also through
`zip`/`enumerate`) or by a loop (`for net in self.nets: outs.append(net(x))`, by index too);
written-out members (`self.q1`, `self.q2`, identical but for the key); and members unpacked from one
generator (`self.a, self.b = (Mod(..., key=k) for k in split(key, 2))`), each called on the same
arguments. Since no fix is offered, the keys need not be provably split: a loop variable read only in
the members' `key=` is enough to make them identical but for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from ..index import dotted
from ..rule import Finding
from ..walk import walk
from ._layer_stacks import carried, field_uses, list_builds, method_statements, named_builds, self_attribute
from ._names import names_in, target_names

GAIN = "measured 3.7-36x faster un-jitted evaluation, 1.5-16x faster compiles on a 2-core CPU"


@dataclass
class Members:
    ctor: cst.Call  # one member's constructor call
    statements: list[cst.CSTNode]  # where they are built
    report: cst.CSTNode


def field_ensemble_findings(ctx) -> Iterator[Finding]:
    for info in ctx.index.module_classes():
        init = info.methods.get("__init__")
        members = {f: Members(b.ctor, b.statements, b.report) for f, b in list_builds(ctx, info).items()}
        for field, built in {**_keyed_lists(ctx, init), **members}.items():
            uses = [u for u in field_uses(ctx, info, {field}) if not isinstance(ctx.parent(u), cst.AssignTarget)]
            outside_build = [u for u in uses if not any(ctx.is_inside(u, s) for s in built.statements)]
            if any(_side_by_side(ctx, u) for u in outside_build):
                yield ctx.finding(built.report, _message(ctx, f"`self.{field}`", built.ctor, "it is a Module field"))
        named = [(names, b.ctor, b.report) for names, b in named_builds(ctx, info, 2)] + _unpacked_members(ctx, init)
        for names, ctor, report in named:
            if _called_alike(ctx, info, names):
                members_text = ", ".join(f"`self.{n}`" for n in names)
                yield ctx.finding(report, _message(ctx, members_text, ctor, "the members are written out as named fields"))


def _keyed_lists(ctx, init: cst.FunctionDef | None) -> dict[str, Members]:
    """`self.f = [Ctor(..., key=k) for k in ITER]` (or `list`/`tuple` of a generator): the loop
    variable read only in the `key=` of a Module's constructor."""
    found = {}
    for stmt in method_statements(init) if init is not None else []:
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1):
            continue
        field = self_attribute(small.targets[0].target)
        ctor = _keyed_member(ctx, small.value)
        if field is not None and ctor is not None:
            found[field] = Members(ctor, [stmt], stmt)
    return found


def _keyed_member(ctx, value: cst.BaseExpression) -> cst.Call | None:
    """The constructor of a comprehension whose loop variable is read only in its `key=`
    (`key=k`, `key=keys[i]`, `key=jax.random.fold_in(key, i)`)."""
    if isinstance(value, cst.Call) and dotted(value.func) in ("list", "tuple") and len(value.args) == 1:
        value = value.args[0].value
    if not isinstance(value, (cst.ListComp, cst.GeneratorExp)):
        return None
    comp, ctor = value.for_in, value.elt
    if comp.ifs or comp.inner_for_in is not None or not isinstance(comp.target, cst.Name) or not isinstance(ctor, cst.Call):
        return None
    keyed = [a for a in ctor.args if a.keyword is not None and a.keyword.value == "key"]
    reads = names_in(ctor).loads_of(comp.target.value)
    in_key = names_in(keyed[0].value).loads_of(comp.target.value) if keyed else []
    if not reads or len(in_key) != len(reads) or ctx.index.constructed_module(ctor) is None:
        return None
    return ctor


def _unpacked_members(ctx, init: cst.FunctionDef | None) -> list[tuple[list[str], cst.Call, cst.CSTNode]]:
    """`self.a, self.b = (Ctor(..., key=k) for k in jax.random.split(key, 2))`."""
    found = []
    for stmt in method_statements(init) if init is not None else []:
        small = stmt.body[0] if isinstance(stmt, cst.SimpleStatementLine) and len(stmt.body) == 1 else None
        if not (isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Tuple)):
            continue
        names = [self_attribute(e.value) for e in small.targets[0].target.elements]
        ctor = _keyed_member(ctx, small.value)
        if ctor is not None and len(names) > 1 and all(names):
            found.append((names, ctor, stmt))
    return found


def _side_by_side(ctx, use: cst.Attribute) -> bool:
    """The members of `use` each called on inputs no other member produced: in a comprehension or a
    loop over them (directly, through `zip`/`enumerate`, or by index)."""
    iterated, parent = use, ctx.parent(use)
    if isinstance(parent, cst.Arg) and isinstance(ctx.parent(parent), cst.Call) and dotted(ctx.parent(parent).func) in ("zip", "enumerate"):
        iterated, parent = ctx.parent(parent), ctx.parent(ctx.parent(parent))
    if isinstance(parent, (cst.CompFor, cst.For)) and parent.iter is iterated:
        owner = ctx.parent(parent) if isinstance(parent, cst.CompFor) else parent
        body = [owner.elt] if isinstance(owner, (cst.ListComp, cst.GeneratorExp, cst.SetComp)) else [owner.body]
        member = set(target_names(parent.target))
        calls = [c for b in body for c in _calls_of(b, lambda f: isinstance(f, cst.Name) and f.value in member)]
        return _independent(owner, body, calls, member)
    if isinstance(parent, cst.Subscript) and isinstance(ctx.parent(parent), cst.Call) and ctx.parent(parent).func is parent:
        loop = next((a for a in ctx.ancestors(parent) if isinstance(a, (cst.For, cst.FunctionDef))), None)
        index = parent.slice[0].slice.value if len(parent.slice) == 1 and isinstance(parent.slice[0].slice, cst.Index) else None
        if isinstance(loop, cst.For) and isinstance(index, cst.Name) and index.value in target_names(loop.target):
            return _independent(loop, [loop.body], [ctx.parent(parent)], set(target_names(loop.target)))
    return False


def _calls_of(node: cst.CSTNode, is_member) -> list[cst.Call]:
    """Calls of a member in `node`, outside lambdas and nested functions (which may never run)."""
    found: list[cst.Call] = []

    class Calls(cst.CSTVisitor):
        def visit_Lambda(self, node) -> bool:
            return False

        def visit_FunctionDef(self, node) -> bool:
            return False

        def visit_Call(self, node: cst.Call) -> None:
            if is_member(node.func):
                found.append(node)

    walk(node, Calls())
    return found


def _independent(owner: cst.CSTNode, body: list[cst.CSTNode], calls: list[cst.Call], targets: set[str]) -> bool:
    """Some member is called, and no call reads what an earlier pass assigned: side by side, not a
    chain (`x = layer(x)` is EQX001's stack)."""
    if not calls:
        return False
    statements = list(body[0].body) if isinstance(owner, cst.For) and isinstance(body[0], cst.IndentedBlock) else body
    carry = set(carried(statements, exclude=targets)) if isinstance(owner, cst.For) else set()
    inputs = {n.value for c in calls for a in c.args for n in names_in(a.value).loads}
    return not inputs & carry


def _message(ctx, what: str, ctor: cst.Call, why: str) -> str:
    return (
        f"the ensemble {what} of `{ctx.text(ctor.func)}` models is built and evaluated member by member; "
        f"build it with `eqx.filter_vmap` and evaluate it with `eqx.filter_vmap` as one batched model ({GAIN}); "
        f"no fix: {why}, and stacking it changes the Module's pytree layout and every method reaching a member"
    )


def _called_alike(ctx, info, names: list[str]) -> bool:
    """Each member called once, in one method, on the same arguments, none of them rebound between
    the calls: side by side, not chained."""
    calls = []
    for use in field_uses(ctx, info, set(names)):
        call = ctx.parent(use)
        method = next((a for a in ctx.ancestors(use) if isinstance(a, cst.FunctionDef)), None)
        if method is None or method.name.value == "__init__":
            continue
        if not (isinstance(call, cst.Call) and call.func is use):
            return False
        calls.append((method, use.attr.value, call))
    if len({id(m) for m, _, _ in calls}) != 1 or sorted(n for _, n, _ in calls) != sorted(names):
        return False
    arguments = {cst.Module([]).code_for_node(cst.Tuple([cst.Element(a.value) for a in c.args])) for _, _, c in calls}
    found = [c for _, _, c in calls]
    return len(arguments) == 1 and _symmetric(ctx, found) and not _rebound_between(ctx, found)


def _symmetric(ctx, calls: list[cst.Call]) -> bool:
    """The members' results play the same part: siblings in one expression (`q1(x), q2(x)`,
    `jnp.minimum(q1(x), q2(x))`, also through the same method on each result:
    `q1(x).squeeze(-1), q2(x).squeeze(-1)`), or each the whole value of an assignment. A gate and a
    value (`w1(x) * jax.nn.sigmoid(w2(x))`) are two roles, not an ensemble."""
    results = [_result(ctx, c) for c in calls]
    if len({ctx.text(r)[len(ctx.text(c)):] for r, c in zip(results, calls)}) != 1:
        return False
    holders = [ctx.parent(r) for r in results]
    holders = [ctx.parent(h) if isinstance(h, (cst.Arg, cst.Element)) else h for h in holders]
    if all(h is holders[0] for h in holders) and not isinstance(holders[0], cst.BinaryOperation):
        return True
    return all(isinstance(h, cst.Assign) and h.value is r for h, r in zip(holders, results))


def _result(ctx, call: cst.Call) -> cst.BaseExpression:
    """The call with what is applied to its result: `q1(x).squeeze(-1)`, `q1(x)[0]`."""
    node, parent = call, ctx.parent(call)
    while (
        isinstance(parent, cst.Attribute) and parent.value is node
        or isinstance(parent, cst.Call) and parent.func is node
        or isinstance(parent, cst.Subscript) and parent.value is node
    ):
        node, parent = parent, ctx.parent(parent)
    return node


def _rebound_between(ctx, calls: list[cst.Call]) -> bool:
    read = {n.value for a in calls[0].args for n in names_in(a.value).loads}
    statements = [next(a for a in ctx.ancestors(c) if isinstance(a, (cst.SimpleStatementLine, cst.BaseCompoundStatement))) for c in calls]
    first, last = min(ctx.span(s)[0] for s in statements), max(ctx.span(s)[0] for s in statements)
    block = ctx.parent(statements[0])
    between = [s for s in getattr(block, "body", []) if first <= ctx.span(s)[0] < last]
    return any(read & names_in(s).bound for s in between)
