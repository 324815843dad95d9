"""Constructor arguments whose only job is initialisation, however they are written (EQX004's
report-only reach): followed through their uses, not recognised by their names or defaults.

An argument is init-only when every read of it
- is inside the replacement of an `eqx.tree_at` whose pytree the constructor built (`self.f` or a
  local built by a Module constructor): `self.linear = eqx.tree_at(lambda l: l.weight, self.linear,
  self.linear.weight * scale)`;
- is the test of an `if` whose body does nothing but such replacements (`if zero_init: ...`);
- is handed to a constructor of this file, or a function of this file, whose matching parameter is
  init-only in turn (threading, and helpers like `normalize_conv(conv, s1, s2)`), positionally or by
  keyword, directly or inside a comprehension building the layers.
A function that receives the model it initialises (the Tricks page's helper form) is not a
constructor: its tree_at pytree is a parameter, so its arguments never count here.
"""

from __future__ import annotations

from typing import Iterable

import libcst as cst

from ..index import dotted
from ..walk import walk
from ._names import all_params, names_in

TREE_AT = "equinox.tree_at"
SKIPPED = frozenset({"self", "key", "keys"})


class InitOnly:
    """Which parameters of the constructors and factories of one file are init-only."""

    def __init__(self, ctx):
        self.ctx = ctx
        self._memo: dict[tuple[int, str, bool], bool] = {}

    def params(self, fn: cst.FunctionDef) -> list[str]:
        return [p.name.value for p in all_params(fn.params) if p.name.value not in SKIPPED and self.init_only(fn, p.name.value)]

    def init_only(self, fn: cst.FunctionDef, name: str, helper: bool = False) -> bool:
        """`helper`: `fn` is called from a constructor, with what it built: a tree_at on one of its
        own parameters then replaces a parameter of the constructor's layers."""
        key = (id(fn), name, helper)
        if key not in self._memo:
            self._memo[key] = False  # a cycle of calls proves nothing
            self._memo[key] = not _rebinds(fn, name) and self._reads_harmless(fn, fn, name, helper)
        return self._memo[key]

    def _reads_harmless(self, owner: cst.FunctionDef, scope: cst.FunctionDef, name: str, helper: bool) -> bool:
        reads = [n for n in names_in(scope.body).loads if n.value == name]
        return bool(reads) and all(self._harmless(owner, r, helper) for r in reads)

    def _harmless(self, owner: cst.FunctionDef, read: cst.Name, helper: bool) -> bool:
        """`owner` is the constructor or factory whose argument flows here. An attribute read
        (`dynamics.linear.weight`) means an object the layer is derived from, not an initialiser."""
        ctx = self.ctx
        if isinstance(ctx.parent(read), cst.Attribute):
            return False
        child: cst.CSTNode = read
        for ancestor in ctx.ancestors(read):
            if ancestor is owner:
                return False
            if isinstance(ancestor, cst.Call):
                if self._replacement_of_tree_at(owner, ancestor, child, helper) or self._handed_down(ancestor, child, read):
                    return True
            if isinstance(ancestor, cst.If) and child is ancestor.test:
                return _only_replacements(ctx, ancestor)
            if isinstance(ancestor, cst.Assign) and child is ancestor.value:
                return self._local_flows(owner, ancestor, helper)
            if isinstance(ancestor, (cst.BaseSmallStatement, cst.BaseCompoundStatement)):
                return False
            child = ancestor
        return False

    def _local_flows(self, owner: cst.FunctionDef, assign: cst.Assign, helper: bool) -> bool:
        """`w = f(arg)`: harmless when what reads this value of `w` (up to its next assignment) only
        reaches replacements."""
        if len(assign.targets) != 1 or not isinstance(assign.targets[0].target, cst.Name):
            return False
        ctx = self.ctx
        scope = next(a for a in ctx.ancestors(assign) if isinstance(a, cst.FunctionDef))
        local = assign.targets[0].target.value
        if local in {p.name.value for p in all_params(scope.params)}:
            return False
        end = ctx.span(assign)[1]
        later = [ctx.span(a)[0] for a in _assignments(scope, local) if ctx.span(a)[0] > end]
        until = min(later, default=len(ctx.source))
        reads = [n for n in names_in(scope.body).loads if n.value == local and end <= ctx.span(n)[0] < until]
        return bool(reads) and all(self._harmless(owner, r, helper) for r in reads)

    def _replacement_of_tree_at(self, owner: cst.FunctionDef, call: cst.Call, child: cst.CSTNode, helper: bool) -> bool:
        if self.ctx.index.qualified_name(call.func) != TREE_AT or len(call.args) < 3:
            return False
        if not any(child is a for a in call.args[2:]):
            return False
        return _built_here(self.ctx, owner, call, call.args[1].value, helper)

    def _handed_down(self, call: cst.Call, child: cst.CSTNode, read: cst.Name) -> bool:
        """`Callee(..., p)` / `helper(layer, p)` where the callee's parameter is init-only; `p` may be
        arithmetic on the argument (`weight_scale=input_scale / jnp.sqrt(depth + 1)`), whose value
        only reaches that parameter."""
        arg = child if isinstance(child, cst.Arg) else None
        if arg is None or arg.star or not self._by_arithmetic(read, arg):
            return False
        callee = self._callee(call)
        if callee is None:
            return False
        param = _parameter_for(callee, call, arg)
        return param is not None and self.init_only(callee, param, helper=callee.name.value != "__init__")

    def _by_arithmetic(self, read: cst.Name, arg: cst.Arg) -> bool:
        """Whether `read` is `arg`'s value or an operand, through operators only, of it."""
        node: cst.CSTNode = read
        while node is not arg.value:
            parent = self.ctx.parent(node)
            if not isinstance(parent, (cst.BinaryOperation, cst.UnaryOperation)):
                return False
            node = parent
        return True

    def _callee(self, call: cst.Call) -> cst.FunctionDef | None:
        """The constructor (`__init__`) of a Module class of this file, or a function of this file.
        `functools.partial(Callee, ...)` hands its arguments to the callee as well."""
        ctx = self.ctx
        func = call.func
        if ctx.index.qualified_name(func) == "functools.partial" and call.args:
            func = call.args[0].value
        name = dotted(func)
        if name in ctx.index.classes and ctx.index.is_module_class(name):
            return ctx.index.classes[name].methods.get("__init__")
        return ctx.index.functions.get(name or "")


def _parameter_for(callee: cst.FunctionDef, call: cst.Call, arg: cst.Arg) -> str | None:
    if arg.keyword is not None:
        return arg.keyword.value
    params = [p.name.value for p in (*callee.params.posonly_params, *callee.params.params)]
    partial_shift = 1 if dotted(call.func) in ("functools.partial", "partial") else 0
    if params and params[0] == "self":
        params = params[1:]
    positional = [a for a in call.args if a.keyword is None]
    position = positional.index(arg) - partial_shift
    if any(a.star for a in positional[: position + partial_shift]):
        return None
    return params[position] if 0 <= position < len(params) else None


def _rebinds(fn: cst.FunctionDef, name: str) -> bool:
    """Bound again in the body: its value there is no longer the argument."""
    names = names_in(fn.body)
    return name in names.bound


def _built_here(ctx, owner: cst.FunctionDef, call: cst.Call, pytree: cst.BaseExpression, helper: bool) -> bool:
    """The tree_at's pytree is something the constructor built: `self.f` (in `__init__`), a local
    assigned from a Module constructor (or from another tree_at of one), or the parameter of a
    helper nested in the constructor. A function that is handed the model is the helper form."""
    if isinstance(pytree, cst.Attribute) and isinstance(pytree.value, cst.Name) and pytree.value.value == "self":
        return owner.name.value == "__init__"
    if not isinstance(pytree, cst.Name):
        return False
    scope = next(a for a in ctx.ancestors(call) if isinstance(a, cst.FunctionDef))
    if pytree.value in {p.name.value for p in all_params(scope.params)}:
        return scope is not owner or helper  # a helper works on what the constructor built
    return any(_constructs(ctx, value) for value in _values_assigned(scope, pytree.value))


def _constructs(ctx, value: cst.BaseExpression) -> bool:
    if ctx.index.constructed_module(value) is not None:
        return True
    return isinstance(value, cst.Call) and ctx.index.qualified_name(value.func) == TREE_AT


def _values_assigned(fn: cst.FunctionDef, name: str) -> Iterable[cst.BaseExpression]:
    return [a.value for a in _assignments(fn, name)]


def _assignments(fn: cst.FunctionDef, name: str) -> list[cst.Assign]:
    found: list[cst.Assign] = []

    class Collect(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            if any(isinstance(t.target, cst.Name) and t.target.value == name for t in node.targets):
                found.append(node)

    walk(fn.body, Collect())
    return found


def _only_replacements(ctx, branch: cst.If) -> bool:
    """An `if` whose branches only assign `eqx.tree_at(...)` results."""
    blocks = [branch.body] + ([branch.orelse.body] if isinstance(branch.orelse, cst.Else) else [])
    if isinstance(branch.orelse, cst.If):
        return False
    for block in blocks:
        statements = block.body if isinstance(block, cst.IndentedBlock) else []
        for stmt in statements:
            small = stmt.body if isinstance(stmt, cst.SimpleStatementLine) else None
            if not small or not all(isinstance(s, cst.Assign) and isinstance(s.value, cst.Call) and ctx.index.qualified_name(s.value.func) == TREE_AT for s in small):
                return False
    return True
