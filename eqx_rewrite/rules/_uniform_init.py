"""EQX004's generic form: one initialiser applied to the same parameter of every layer of a kind.

The Tricks page's recipe selects every such layer with `is_leaf` and replaces all their weights with
one `eqx.tree_at`. The keys stay the ones the constructor gave each layer, listed in the order
`tree_leaves` visits the layers (the fields' declaration order), so the weights are identical.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ..index import ClassInfo, dotted
from ._layer_stacks import assigned_self_field, first_assignments
from ._names import fresh, names_in

# equinox.nn layers that hold arrays but never other layers: a field built from one cannot hide a
# layer of the kind being initialised from `tree_leaves`.
LEAF_LAYERS = frozenset({
    "Linear", "Embedding", "LayerNorm", "RMSNorm", "GroupNorm", "BatchNorm", "Dropout", "Identity", "PReLU",
    "Conv", "Conv1d", "Conv2d", "Conv3d", "ConvTranspose", "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d",
})
PARAMETER_GETTERS = {"weight": "get_weights", "bias": "get_biases"}


@dataclass
class Uniform:
    kind: str  # the layer class as the file writes it, e.g. `eqx.nn.Linear`
    attribute: str  # the parameter replaced in each layer, e.g. `weight`
    keys: list[cst.BaseExpression]  # each layer's key, in the model's leaf order


def uniform_form(ctx, info: ClassInfo, statements: list[cst.BaseStatement], block: cst.If) -> Uniform | None:
    """`block` gives every layer of one kind the same initialiser, `init(key, self.f.<attr>.shape)`."""
    initialiser = block.test.left.value  # type: ignore[attr-defined]
    keys: dict[str, cst.BaseExpression] = {}
    attributes = set()
    for stmt in block.body.body:  # type: ignore[attr-defined]
        field_name, value = assigned_self_field(stmt)  # type: ignore[misc]
        parts = _replacement(value.args[0].value, value.args[2].value, initialiser, field_name)
        if parts is None or field_name in keys:
            return None
        attributes.add(parts[0])
        keys[field_name] = parts[1]
    if len(keys) < 2 or len(attributes) != 1 or info.bases not in (["eqx.Module"], ["equinox.Module"], ["Module"]):
        return None
    built = first_assignments(statements)
    kinds = {_layer_kind(ctx, built.get(name)) for name in keys}
    kind = kinds.pop() if len(kinds) == 1 else None
    if kind is None or any(not _cannot_hold(ctx, value, kind) for name, value in built.items() if name not in keys):
        return None
    if set(keys) - set(info.fields) or set(built) - set(info.fields):
        return None
    order = [name for name in info.fields if name in keys]
    return Uniform(ctx.text(built[order[0]].func), attributes.pop(), [keys[name] for name in order])


def _replacement(where, value, initialiser: str, field_name: str) -> tuple[str, cst.BaseExpression] | None:
    """(attribute, key) of `tree_at(lambda l: l.<attr>, self.f, init(key, self.f.<attr>.shape))`."""
    if not (isinstance(where.body, cst.Attribute) and isinstance(where.body.value, cst.Name)):
        return None
    if where.body.value.value != where.params.params[0].name.value:
        return None
    attribute = where.body.attr.value
    if not (isinstance(value, cst.Call) and dotted(value.func) == initialiser and len(value.args) == 2):
        return None
    key, shape = value.args
    if key.keyword or shape.keyword or key.star or shape.star or names_in(key.value).reads("self"):
        return None
    if dotted(shape.value) != f"self.{field_name}.{attribute}.shape":
        return None
    return attribute, key.value


def _layer_kind(ctx, value: cst.BaseExpression | None) -> str | None:
    if not isinstance(value, cst.Call):
        return None
    qualified = ctx.index.qualified_name(value.func) or ""
    module, _, name = qualified.rpartition(".")
    return name if module == "equinox.nn" and name in LEAF_LAYERS else None


def _cannot_hold(ctx, value: cst.BaseExpression, kind: str) -> bool:
    """A field built from this cannot contain a `kind` layer (a subclass named after it included)."""
    other = _layer_kind(ctx, value)
    if other is not None:
        return not other.startswith(kind)
    if isinstance(value, (cst.Integer, cst.Float, cst.SimpleString)):
        return True
    qualified = ctx.index.qualified_name(value.func) if isinstance(value, cst.Call) else None
    return bool(qualified) and qualified.startswith(("jax.numpy.", "jax.random.", "numpy."))


def uniform_lines(ctx, uniform: Uniform, initialiser: str, taken: set[str], tree_at: str, tree_leaves: str) -> list[str]:
    """The Tricks page's `init_linear_weight`, inline; `taken` holds the helper's names so far."""
    is_kind = fresh(taken, "is_" + uniform.kind.rpartition(".")[2].lower())
    getter = fresh(taken, PARAMETER_GETTERS.get(uniform.attribute, f"get_{uniform.attribute}"))
    keys = fresh(taken, "layer_keys")
    listed = ", ".join(ctx.text(k) for k in uniform.keys)
    return [
        f"    if {initialiser} is not None:",
        f"        {is_kind} = lambda x: isinstance(x, {uniform.kind})",
        f"        {getter} = lambda m: [x.{uniform.attribute} for x in {tree_leaves}(m, is_leaf={is_kind}) if {is_kind}(x)]",
        f"        # Each layer's own key, in the order `{getter}` lists the layers.",
        f"        {keys} = [{listed}]",
        f"        model = {tree_at}({getter}, model, [{initialiser}(k, p.shape) for k, p in zip({keys}, {getter}(model))])",
    ]
