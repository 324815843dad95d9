"""What draws from a PRNG key (EQX007): the calls that consume a key, found in a piece of code."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ..walk import walk
from ._names import target_name_nodes

# `jax.random` functions that read a key without drawing from it.
NOT_DRAWING = ("jax.random.fold_in", "jax.random.key_data", "jax.random.key_impl", "jax.random.wrap_key_data")
COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)


@dataclass(frozen=True)
class Draw:
    """One key argument of a drawing call."""

    call: cst.Call
    key: cst.BaseExpression  # the argument as written
    name: str  # `key`, or `keys[0]` for a constant index
    per_element: bool  # inside a comprehension: drawn once per element


def draws_in(ctx, node: cst.CSTNode, keys: set[str]) -> list[Draw]:
    """The draws from `keys` in `node`, in source order: each key argument of each drawing call
    outside lambdas and nested functions. Walked without parent
    metadata, which costs more than the walk: comprehensions are entered by hand."""
    found: list[Draw] = []

    class Calls(cst.CSTVisitor):
        def __init__(self) -> None:
            self.per_element = 0
            self.shadowed: list[set[str]] = []  # comprehension variables around the node

        def visit_Lambda(self, node) -> bool:
            return False

        def visit_FunctionDef(self, node) -> bool:
            return False

        def on_visit(self, node: cst.CSTNode) -> bool:
            if not isinstance(node, COMPREHENSIONS):
                return super().on_visit(node)
            walk(node.for_in.iter, self)  # the first iterable is evaluated once
            generators, comp = [], node.for_in
            while comp is not None:
                generators.append(comp)
                comp = comp.inner_for_in
            self.per_element += 1
            self.shadowed.append({n.value for g in generators for n in target_name_nodes(g.target)})
            for generator in generators:
                if generator is not node.for_in:
                    walk(generator.iter, self)
                for condition in generator.ifs:
                    walk(condition, self)
            for part in (node.key, node.value) if isinstance(node, cst.DictComp) else (node.elt,):
                walk(part, self)
            self.shadowed.pop()
            self.per_element -= 1
            return False

        def visit_Call(self, call: cst.Call) -> None:
            qualified = ctx.index.qualified_name(call.func) or ""
            sampling = qualified.startswith("jax.random.") and qualified not in NOT_DRAWING
            constructs = ctx.index.constructed_module(call) is not None
            for arg in call.args:
                # A draw: a `jax.random` call, a Module's constructor, or a `key=` (Equinox's
                # convention for the key a stochastic layer draws from). A key handed on
                # positionally to another function may be handed twice on purpose (a value and
                # its gradient).
                if not (sampling or constructs or arg.keyword is not None and arg.keyword.value == "key"):
                    continue
                name = _key_argument(arg.value, keys)
                if name is not None and not any(name.partition("[")[0] in names for names in self.shadowed):
                    found.append(Draw(call, arg.value, name, self.per_element > 0))

    walk(node, Calls())
    return found


def _key_argument(value: cst.BaseExpression, keys: set[str]) -> str | None:
    """`key`, or `keys[0]` (a constant index names one key of the array: `keys[0]` twice is reuse)."""
    if isinstance(value, cst.Name) and value.value in keys:
        return value.value
    if isinstance(value, cst.Subscript) and isinstance(value.value, cst.Name) and value.value.value in keys and len(value.slice) == 1:
        index = value.slice[0].slice
        written = index.value if isinstance(index, cst.Index) else None
        constant = written.expression if isinstance(written, cst.UnaryOperation) else written
        if isinstance(constant, cst.Integer):
            return f"{value.value.value}[{cst.Module([]).code_for_node(index.value)}]"
    return None
