"""What draws from a PRNG key (EQX007): the calls that consume a key, found in a piece of code."""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ..walk import walk
from ..index import dotted
from ._names import names_in, target_name_nodes

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
            if _given_weights(ctx, call):
                return
            constructs = ctx.index.constructed_module(call) is not None
            for arg in call.args:
                # A draw: a `jax.random` call, a Module's constructor, or a `key=` (Equinox's
                # convention for the key a stochastic layer draws from) to a callee that may read
                # it. A key handed on positionally to another function may be handed twice on
                # purpose (a value and its gradient).
                keyword = arg.keyword is not None and arg.keyword.value == "key"
                if not (sampling or constructs or keyword and ctx.once(_may_draw, ctx, call)):
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


# Equinox layers whose `__call__` takes a `key` only for a uniform signature, and never reads it.
KEY_IGNORING_LAYERS = frozenset(
    f"equinox.nn.{name}"
    for name in (
        "Linear", "Identity", "MLP", "Conv", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose", "ConvTranspose1d",
        "ConvTranspose2d", "ConvTranspose3d", "LayerNorm", "GroupNorm", "RMSNorm", "Embedding", "PReLU", "Lambda",
        "GRUCell", "LSTMCell", "AvgPool1d", "AvgPool2d", "AvgPool3d", "MaxPool1d", "MaxPool2d", "MaxPool3d",
        "AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AdaptiveAvgPool3d", "AdaptiveMaxPool1d", "AdaptiveMaxPool2d",
        "AdaptiveMaxPool3d",
    )
)


def _given_weights(ctx, call: cst.Call) -> bool:
    """`eqx.nn.Embedding(weight=...)`: built from the weights given, its key unread."""
    return ctx.index.qualified_name(call.func) == "equinox.nn.Embedding" and any(a.keyword is not None and a.keyword.value == "weight" for a in call.args)


def _may_draw(ctx, call: cst.Call) -> bool:
    """Whether a call handed `key=` may draw from it: not with `inference=True` (Equinox's switch
    for dropout), nor when the callee is seen never to read it: a function of this file, or a
    field of this file's Modules declared as a layer that ignores its key or as a Module of this
    file whose `__call__` does not read `key`."""
    if any(a.keyword is not None and a.keyword.value == "inference" and isinstance(a.value, cst.Name) and a.value.value == "True" for a in call.args):
        return False
    func = call.func
    if isinstance(func, cst.Name) and func.value in ctx.index.functions:
        return _reads_key(ctx.index.functions[func.value])
    if isinstance(func, cst.Name):
        built = _built_from(ctx, call, func.value)
        return not built or any(_layer_may_draw(ctx, c) for c in built)
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        declared = [c.fields[func.attr.value].annotation for c in ctx.index.module_classes() if func.attr.value in c.fields]
        return not declared or any(_layer_may_draw(ctx, a) for a in declared)
    return True


def _built_from(ctx, call: cst.Call, name: str) -> list[cst.BaseExpression]:
    """The classes a local `name` is built from (`attn = MultiHeadAttention(...)`) in the function
    around `call`; empty when any of its assignments is not a constructor call, or it has none."""
    scope = next((a for a in ctx.ancestors(call) if isinstance(a, cst.FunctionDef)), ctx.module)
    values = ctx.once(_assigned_values, scope).get(name, [])
    if not values or not all(isinstance(v, cst.Call) and dotted(v.func) is not None for v in values):
        return []
    return [v.func for v in values]


def _assigned_values(scope: cst.CSTNode) -> dict[str, list[cst.BaseExpression]]:
    """name -> the values assigned to it in `scope`, walked once for all of a function's calls."""
    values: dict[str, list[cst.BaseExpression]] = {}

    class Assignments(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            for t in node.targets:
                if isinstance(t.target, cst.Name):
                    values.setdefault(t.target.value, []).append(node.value)

    walk(scope, Assignments())
    return values


def _layer_may_draw(ctx, annotation: cst.BaseExpression) -> bool:
    """Whether a layer of this class may read the key it is handed: not the Equinox layers that
    ignore it, nor classes of the run whose `__call__` never reads it."""
    if ctx.index.qualified_name(annotation) in KEY_IGNORING_LAYERS:
        return False
    name = dotted(annotation)
    if name is not None and name.rpartition(".")[2] in ctx.settings.project_key_ignoring:
        return False
    info = ctx.index.classes.get(name or "")
    call = info.methods.get("__call__") if info is not None and ctx.index.is_module_class(info.name) else None
    return call is None or _reads_key(call)


def _reads_key(fn: cst.FunctionDef) -> bool:
    """A function reads the key it is handed unless it has a `key` parameter it never reads (and no
    `**kwargs` to pass it on)."""
    params = fn.params
    if isinstance(params.star_kwarg, cst.Param):
        return True
    named = [p for p in (*params.posonly_params, *params.params, *params.kwonly_params) if p.name.value == "key"]
    return not named or names_in(fn.body).reads("key")
