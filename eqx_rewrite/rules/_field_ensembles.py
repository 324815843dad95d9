"""EQX003's Module-field ensembles: identical members held by a Module, evaluated side by side in its
methods. Reported without a fix: stacking them changes the Module's pytree layout (its checkpoints)
and every method that reaches a member, which this rule does not rewrite yet.

Two shapes: a field built by one comprehension or append loop over split keys
(`self.nets = [MLP(..., key=k) for k in keys]`), evaluated by comprehensions over it
(`jnp.stack([net(x) for net in self.nets])`, also through `zip`/`enumerate`); and written-out members
(`self.q1`, `self.q2`, identical but for the key) each called on the same arguments.
"""

from __future__ import annotations

from typing import Iterator

import libcst as cst

from ..rule import Finding
from ._layer_stacks import field_uses, iterated_by_comprehension, list_builds, named_builds
from ._names import names_in

GAIN = "measured 3.7-36x faster un-jitted evaluation, 1.5-16x faster compiles on a 2-core CPU"


def field_ensemble_findings(ctx) -> Iterator[Finding]:
    for info in ctx.index.module_classes():
        for field, build in list_builds(ctx, info).items():
            uses = [u for u in field_uses(ctx, info, {field}) if not isinstance(ctx.parent(u), cst.AssignTarget)]
            outside_build = [u for u in uses if not any(ctx.is_inside(u, s) for s in build.statements)]
            side_by_side = [u for u in outside_build if iterated_by_comprehension(ctx, u)]
            if side_by_side:
                yield ctx.finding(build.report, _message(ctx, f"`self.{field}`", build.ctor, "it is a Module field"))
        for names, build in named_builds(ctx, info, 2):
            if _called_alike(ctx, info, names):
                members = ", ".join(f"`self.{n}`" for n in names)
                yield ctx.finding(build.report, _message(ctx, members, build.ctor, "the members are written out as named fields"))


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
    `jnp.minimum(q1(x), q2(x))`), or each the whole value of an assignment. A gate and a value
    (`w1(x) * jax.nn.sigmoid(w2(x))`) are two roles, not an ensemble."""
    holders = [ctx.parent(c) for c in calls]
    holders = [ctx.parent(h) if isinstance(h, (cst.Arg, cst.Element)) else h for h in holders]
    if all(h is holders[0] for h in holders) and not isinstance(holders[0], cst.BinaryOperation):
        return True
    return all(isinstance(h, cst.Assign) and h.value is c for h, c in zip(holders, calls))


def _rebound_between(ctx, calls: list[cst.Call]) -> bool:
    read = {n.value for a in calls[0].args for n in names_in(a.value).loads}
    statements = [next(a for a in ctx.ancestors(c) if isinstance(a, (cst.SimpleStatementLine, cst.BaseCompoundStatement))) for c in calls]
    first, last = min(ctx.span(s)[0] for s in statements), max(ctx.span(s)[0] for s in statements)
    block = ctx.parent(statements[0])
    between = [s for s in getattr(block, "body", []) if first <= ctx.span(s)[0] < last]
    return any(read & names_in(s).bound for s in between)
