from __future__ import annotations

from dataclasses import dataclass
from typing import Iterator

import libcst as cst

from ..rule import Edit, Finding, Fix, Rule, Safety, register
from ._calls import argument, string_value
from ._names import block_statements, declared_outer, names_in, param_names, target_names
from ._nn_fields import NN_FIELDS

TREE_AT = "equinox.tree_at"
CONSTRUCTION_METHODS = frozenset({"__init__", "__post_init__", "__check_init__"})


@register
class ModuleMutation(Rule):
    """## What it does
    Finds in-place mutation of an Equinox module: `object.__setattr__(m, "field", v)`,
    `m.__dict__["field"] = v`, `vars(m)["field"] = v`, and `dataclasses.replace(m, ...)` on a module
    whose class has a custom `__init__`.

    ## Why is this bad?
    Modules are frozen dataclasses and pytrees: JAX transformations, `filter_jit` caches and other
    references assume they never change. Mutating one behind their back changes every holder of the
    object at once and can leave compiled functions holding stale values. `dataclasses.replace`
    re-runs a custom `__init__` with field names as arguments and fails with a `TypeError`.

    ## Example
    ```python
    layers = list(mlp.layers)
    layers[-1] = new_final
    object.__setattr__(mlp, "layers", tuple(layers))
    ```

    ## Use instead
    ```python
    mlp = eqx.tree_at(lambda mlp: mlp.layers, mlp, tuple(layers))
    ```
    Consecutive mutations of one object become one `tree_at` with a tuple of places.

    ## Fix safety
    Safe when nothing else can observe the mutation: the object was created in this scope and was not
    passed anywhere, stored or captured before. Unsafe when it could have been (a parameter, a global,
    an earlier alias), or when the field is not known to be a dynamic field of the class. Static
    fields cannot be replaced by `tree_at`: reported without a fix. Mutation of `self` inside
    `__init__`/`__post_init__` is construction and is not reported.

    ## Verification
    The module's outputs after the surgery are unchanged; any other holder of the old object now
    keeps the old value, as it should.
    """

    code = "EQX005"
    name = "module-mutation"
    summary = "in-place mutation of a frozen Equinox module; use `eqx.tree_at`"
    needles = (r"__setattr__|__dict__|\bvars\(|\breplace\b",)

    needs_module = True

    @staticmethod
    def candidate(f) -> bool:
        return f.mutates

    def check(self, ctx) -> Iterator[Finding]:
        mutations = [m for m in _mutations(ctx) if m.target_class is not None]
        yield from _statement_findings(ctx, mutations)
        yield from _replace_findings(ctx)


@dataclass
class Mutation:
    node: cst.CSTNode  # what is reported
    statement: cst.SimpleStatementLine | None  # the whole statement, when the mutation is one
    target: cst.BaseExpression
    field: str | None
    value: cst.BaseExpression
    spelling: str
    target_class: str | None = None
    blocker: str | None = None  # why no fix can be offered
    risk: str | None = None  # why the fix is unsafe


def _mutations(ctx) -> Iterator[Mutation]:
    for call in ctx.index.calls:
        if _is_object_setattr(ctx, call):
            target, field, value = (argument(call, i, "") for i in range(3))
            if target is not None and value is not None:
                stmt = _sole_statement(ctx, ctx.parent(call))
                yield _resolve(ctx, Mutation(call, stmt, target, string_value(field), value, "object.__setattr__"))
    for assign in ctx.index.assigns:
        if len(assign.targets) != 1:
            continue
        found = _dict_subscript(ctx, assign.targets[0].target)
        if found is not None:
            target, field, spelling = found
            stmt = _sole_statement(ctx, assign)
            yield _resolve(ctx, Mutation(assign, stmt, target, field, assign.value, spelling))


def _is_object_setattr(ctx, call: cst.Call) -> bool:
    func = call.func
    return (
        isinstance(func, cst.Attribute)
        and func.attr.value == "__setattr__"
        and isinstance(func.value, cst.Name)
        and func.value.value == "object"
        and "object" not in ctx.index.imports
    )


def _dict_subscript(ctx, target: cst.BaseExpression):
    """`m.__dict__["f"]` or `vars(m)["f"]` as (m, "f", spelling)."""
    if not isinstance(target, cst.Subscript) or len(target.slice) != 1:
        return None
    index = target.slice[0].slice
    field = string_value(index.value) if isinstance(index, cst.Index) else None
    base = target.value
    if isinstance(base, cst.Attribute) and base.attr.value == "__dict__":
        return base.value, field, "__dict__"
    if isinstance(base, cst.Call) and isinstance(base.func, cst.Name) and base.func.value == "vars":
        inner = argument(base, 0, "object")
        if inner is not None and len(base.args) == 1 and "vars" not in ctx.index.imports:
            return inner, field, "vars()"
    return None


def _sole_statement(ctx, node: cst.CSTNode | None) -> cst.SimpleStatementLine | None:
    if isinstance(node, cst.Expr):
        node = ctx.parent(node)
    elif node is not None and not isinstance(node, cst.SimpleStatementLine):
        node = ctx.parent(node)
    if isinstance(node, cst.SimpleStatementLine) and len(node.body) == 1:
        return node
    return None


# --- what the target is ---------------------------------------------------------------------------
def _resolve(ctx, m: Mutation) -> Mutation:
    target = m.target
    if isinstance(target, cst.Name) and target.value == "self":
        return _resolve_self(ctx, m)
    if not isinstance(target, cst.Name):
        return m
    scope = _scope(ctx, m.node)
    bindings = _bindings(ctx, scope, target.value)
    m.target_class = next((c for c in (ctx.index.constructed_module(v) for v in bindings.values) if c), None)
    if m.target_class is None:
        m.target_class = bindings.annotated_class
    if m.target_class is None:
        return m
    if m.statement is None:
        m.blocker = f"`{m.spelling}` is used inside a larger statement"
    elif m.field is None:
        m.blocker = "the field name is not a string literal"
    else:
        _judge_field(ctx, m)
    if m.blocker is None:
        _judge_observers(ctx, m, scope, bindings)
    return m


def _self_class(ctx, node: cst.CSTNode) -> tuple[str, str] | None:
    """(method name, Module class name) when `node` is in a method of an eqx.Module class."""
    method = next((a for a in ctx.ancestors(node) if isinstance(a, cst.FunctionDef)), None)
    cls = next((a for a in ctx.ancestors(method) if isinstance(a, cst.ClassDef)), None) if method else None
    if cls is None or not ctx.index.is_module_class(cls.name.value):
        return None
    return method.name.value, cls.name.value


def _resolve_self(ctx, m: Mutation) -> Mutation:
    found = _self_class(ctx, m.node)
    if found is None or found[0] in CONSTRUCTION_METHODS:
        return m
    method, m.target_class = found
    m.blocker = f"`{method}` mutates `self`; return `eqx.tree_at(...)` of it instead"
    return m


def _judge_field(ctx, m: Mutation) -> None:
    known = _field_kind(ctx, m.target_class, m.field)
    if known == "static":
        m.blocker = f"`{m.field}` is a static field, which `tree_at` cannot replace; rebuild the module"
    elif known == "absent":
        m.blocker = f"`{m.field}` is not a field of `{m.target_class}`"
    elif known is None and _replaces_method(ctx, m):
        m.blocker = f"`{m.field}` of `{m.target_class}` may be a method, which `tree_at` cannot replace"
    elif known is None:
        m.risk = f"`{m.field}` is not known to be a dynamic field of `{m.target_class}`"


def _replaces_method(ctx, m: Mutation) -> bool:
    """Monkey-patching rather than surgery: a dunder name (never a field), or a function put in
    place of an attribute of a class defined elsewhere (a bound method there)."""
    if m.field.startswith("__") and m.field.endswith("__"):
        return True
    value = m.value
    if isinstance(value, cst.Lambda):
        return True
    if isinstance(value, cst.Call) and ctx.index.qualified_name(value.func) in ("types.MethodType", "functools.partial"):
        return True
    return isinstance(value, cst.Name) and value.value in _local_functions(ctx, m.node)


def _local_functions(ctx, node: cst.CSTNode) -> set[str]:
    scope = _scope(ctx, node)
    body = scope.body.body if isinstance(scope, cst.FunctionDef) and isinstance(scope.body, cst.IndentedBlock) else getattr(scope, "body", [])
    return {s.name.value for s in body if isinstance(s, cst.FunctionDef)}


def _field_kind(ctx, class_name: str, field: str, seen: frozenset[str] = frozenset()) -> str | None:
    """"dynamic", "static" or "absent" when known; None when the class is defined elsewhere."""
    nn_name = _nn_class(ctx, class_name)
    if nn_name is not None:
        dynamic, static = NN_FIELDS.get(nn_name, ((), ()))
        return "dynamic" if field in dynamic else "static" if field in static else None if nn_name not in NN_FIELDS else "absent"
    info = ctx.index.classes.get(class_name)
    if info is None or class_name in seen:
        return None
    if field in info.fields:
        return "static" if info.fields[field].static else "dynamic"
    kinds = [_field_kind(ctx, base, field, seen | {class_name}) for base in info.bases if not _is_module_base(ctx, base)]
    if any(k in ("dynamic", "static") for k in kinds):
        return next(k for k in kinds if k in ("dynamic", "static"))
    return "absent" if all(k == "absent" for k in kinds) else None


def _nn_class(ctx, class_name: str) -> str | None:
    qualified = ctx.index.qualified_name(cst.parse_expression(class_name))
    if qualified and qualified.startswith("equinox.nn."):
        return qualified.rpartition(".")[2]
    return None


def _is_module_base(ctx, base: str) -> bool:
    return ctx.index.qualified_name(cst.parse_expression(base)) == "equinox.Module"


# --- who else could see the object ------------------------------------------------------------------
@dataclass
class Bindings:
    values: list[cst.BaseExpression]
    annotated_class: str | None
    is_param: bool
    declared_outer: bool


def _scope(ctx, node: cst.CSTNode) -> cst.CSTNode:
    return next((a for a in ctx.ancestors(node) if isinstance(a, (cst.FunctionDef, cst.Lambda))), ctx.module)


def _assigns_by_scope(ctx) -> dict[cst.CSTNode, list[cst.Assign]]:
    found: dict[cst.CSTNode, list[cst.Assign]] = {}
    for assign in ctx.index.assigns:
        found.setdefault(_scope(ctx, assign), []).append(assign)
    return found


def _bindings(ctx, scope: cst.CSTNode, name: str) -> Bindings:
    values = [
        a.value
        for a in ctx.once(_assigns_by_scope, ctx).get(scope, ())
        if any(name in target_names(t.target) for t in a.targets)
    ]
    annotated = None
    is_param = False
    if isinstance(scope, cst.FunctionDef):
        is_param = name in param_names(scope)
        for param in [*scope.params.params, *scope.params.kwonly_params, *scope.params.posonly_params]:
            if param.name.value == name and param.annotation is not None:
                ann = param.annotation.annotation
                if isinstance(ann, (cst.Name, cst.Attribute)) and ctx.index.constructed_module(cst.Call(func=ann)):
                    annotated = cst.Module([]).code_for_node(ann)
    body = scope.body if isinstance(scope, cst.FunctionDef) else scope
    outer = isinstance(scope, cst.FunctionDef) and name in declared_outer(body)
    return Bindings(values, annotated, is_param, outer)


def _judge_observers(ctx, m: Mutation, scope: cst.CSTNode, bindings: Bindings) -> None:
    name = m.target.value
    if bindings.is_param:
        m.risk = f"`{name}` is a parameter: the caller holds the same object and saw it change"
        return
    if bindings.declared_outer or (scope is ctx.module and _read_in_functions(ctx, name)):
        m.risk = f"`{name}` is shared with other functions, which saw the object change"
        return
    escape = _first_escape(ctx, m, scope, name)
    if escape is not None:
        row = ctx.lines.position(ctx.span(escape)[0]).row
        m.risk = f"`{name}` may be referenced elsewhere (line {row}), which saw the object change"


def _read_in_functions(ctx, name: str) -> bool:
    return name in ctx.once(_names_read_in_functions, ctx.index)


def _names_read_in_functions(index) -> set[str]:
    """What the module's functions and classes read: the same for every mutation of the module."""
    nodes = [fn.body for fn in index.functions.values()] + [c.node for c in index.classes.values()]
    return {load.value for node in nodes for load in names_in(node).loads}


def _first_escape(ctx, m: Mutation, scope: cst.CSTNode, name: str) -> cst.Name | None:
    """A read of `name` that could hand the object to someone else before (or around) the mutation."""
    in_loop = any(isinstance(a, (cst.For, cst.While)) for a in ctx.ancestors_within(m.node, scope))
    mutation_start = ctx.span(m.node)[0]
    body = scope.body if isinstance(scope, (cst.FunctionDef, cst.Lambda)) else scope
    for load in names_in(body).loads_of(name):
        if load is m.target or (not in_loop and ctx.span(load)[0] >= mutation_start):
            continue
        if not _harmless_read(ctx, load, scope):
            return load
    return None


def _harmless_read(ctx, load: cst.Name, scope: cst.CSTNode) -> bool:
    """`m.attr` and `m(...)` use the object without handing it on; so do other mutations of it."""
    if any(isinstance(a, (cst.FunctionDef, cst.Lambda)) for a in ctx.ancestors_within(load, scope)):
        return False  # captured by a closure, which may outlive this point
    parent = ctx.parent(load)
    if isinstance(parent, cst.Attribute) and parent.value is load:
        return True
    if isinstance(parent, cst.Call) and parent.func is load:
        return True
    if isinstance(parent, cst.Arg):
        call = ctx.parent(parent)
        return isinstance(call, cst.Call) and (_is_object_setattr(ctx, call) or dotted_is(call.func, "vars"))
    return False


def dotted_is(node: cst.BaseExpression, name: str) -> bool:
    return isinstance(node, cst.Name) and node.value == name


# --- findings -------------------------------------------------------------------------------------
def _message(m: Mutation) -> str:
    how = {"object.__setattr__": "`object.__setattr__`", "__dict__": "writing `__dict__`", "vars()": "writing `vars()`"}
    return f"{how[m.spelling]} mutates the frozen module `{cst.Module([]).code_for_node(m.target)}` in place"


def _statement_findings(ctx, mutations: list[Mutation]) -> Iterator[Finding]:
    for group in _groups(ctx, mutations):
        fix = _group_fix(ctx, group) if all(m.blocker is None for m in group) else None
        for m in group:
            message = _message(m)
            if m.blocker:
                message += f"; no fix: {m.blocker}"
            elif m.risk:
                message += f"; the fix is unsafe: {m.risk}"
            yield ctx.finding(m.node, message, fix)


def _groups(ctx, mutations: list[Mutation]) -> list[list[Mutation]]:
    """Runs of consecutive statements mutating distinct fields of one object, nothing between."""
    groups: list[list[Mutation]] = []
    for m in sorted(mutations, key=lambda m: ctx.span(m.node)[0]):
        last = groups[-1][-1] if groups else None
        if last is not None and _joins(ctx, groups[-1], last, m):
            groups[-1].append(m)
        else:
            groups.append([m])
    return groups


def _joins(ctx, group: list[Mutation], last: Mutation, m: Mutation) -> bool:
    if last.statement is None or m.statement is None or m.blocker or last.blocker:
        return False
    if not (isinstance(m.target, cst.Name) and isinstance(last.target, cst.Name)) or m.target.value != last.target.value:
        return False
    if m.field in {g.field for g in group} or names_in(m.value).reads(m.target.value):
        return False
    siblings = list(block_statements(ctx.parent(m.statement)))
    if ctx.parent(m.statement) is not ctx.parent(last.statement):
        return False
    adjacent = siblings.index(m.statement) == siblings.index(last.statement) + 1
    between = ctx.source[ctx.span(last.statement)[1] : ctx.span(m.statement)[0]]
    return adjacent and not between.strip()


def _group_fix(ctx, group: list[Mutation]) -> Fix:
    tree_at, import_edits = ctx.name_for(TREE_AT)
    name = group[0].target.value
    values = [ctx.text(m.value) for m in group]
    if len(group) == 1:
        places, new = f"{name}.{group[0].field}", values[0]
    else:
        places = "(" + ", ".join(f"{name}.{m.field}" for m in group) + ")"
        new = "(" + ", ".join(values) + ")"
    code = f"{name} = {tree_at}(lambda {name}: {places}, {name}, {new})"
    start = ctx.span(group[0].statement)[0]
    end = ctx.span(group[-1].statement)[1]
    edit = Edit(start, end, ctx.render(code, group[0].statement))
    risks = [m.risk for m in group if m.risk]
    safety = Safety.UNSAFE if risks else Safety.SAFE
    return Fix(safety, f"Rebuild `{name}` with `eqx.tree_at`", (edit, *import_edits))


def _replace_findings(ctx) -> Iterator[Finding]:
    for call in ctx.index.calls_to("dataclasses.replace"):
        target = argument(call, 0, "obj")
        if target is None:
            continue
        probe = Mutation(call, None, target, None, target, "replace")
        class_name = ctx.index.constructed_module(target)
        if class_name is None:
            _resolve_target_class(ctx, probe)
            class_name = probe.target_class
        if class_name is None or not _has_custom_init(ctx, class_name):
            continue
        yield _replace_finding(ctx, call, target, class_name)


def _resolve_target_class(ctx, probe: Mutation) -> None:
    if isinstance(probe.target, cst.Name) and probe.target.value == "self":
        found = _self_class(ctx, probe.node)
        probe.target_class = found[1] if found else None
    elif isinstance(probe.target, cst.Name):
        bindings = _bindings(ctx, _scope(ctx, probe.node), probe.target.value)
        probe.target_class = next((c for c in map(ctx.index.constructed_module, bindings.values) if c), None)
        probe.target_class = probe.target_class or bindings.annotated_class


def _has_custom_init(ctx, class_name: str) -> bool:
    if _nn_class(ctx, class_name) is not None:
        return True
    info = ctx.index.classes.get(class_name)
    return info is not None and "__init__" in info.methods


def _replace_finding(ctx, call: cst.Call, target: cst.BaseExpression, class_name: str) -> Finding:
    message = (
        f"`dataclasses.replace` re-runs the custom `__init__` of `{class_name}` with field names as "
        "arguments, which raises a TypeError; use `eqx.tree_at`"
    )
    changes = [a for a in call.args[1:]]
    if not changes or any(a.keyword is None for a in changes):
        return ctx.finding(call, message)
    kinds = {a.keyword.value: _field_kind(ctx, class_name, a.keyword.value) for a in changes}
    if any(k in ("static", "absent") for k in kinds.values()):
        return ctx.finding(call, message + "; no fix: not every argument is a dynamic field")
    tree_at, import_edits = ctx.name_for(TREE_AT)
    values = [ctx.text(a.value) for a in changes]
    target_code = ctx.text(target)
    if len(changes) == 1:
        places, new = f"m.{changes[0].keyword.value}", values[0]
    else:
        places = "(" + ", ".join(f"m.{a.keyword.value}" for a in changes) + ")"
        new = "(" + ", ".join(values) + ")"
    edit = ctx.replace(call, f"{tree_at}(lambda m: {places}, {target_code}, {new})")
    safe = all(k == "dynamic" for k in kinds.values()) and _init_rejects(ctx, class_name, list(kinds))
    safety = Safety.SAFE if safe else Safety.UNSAFE
    return ctx.finding(call, message, Fix(safety, "Replace the fields with `eqx.tree_at`", (edit, *import_edits)))


def _init_rejects(ctx, class_name: str, fields: list[str]) -> bool:
    """True when the class's own `__init__` cannot accept these names: the original always raised."""
    info = ctx.index.classes.get(class_name)
    if info is None or "__init__" not in info.methods:
        return False
    init = info.methods["__init__"]
    if isinstance(init.params.star_kwarg, cst.Param):
        return False
    return not set(fields) & set(param_names(init))
