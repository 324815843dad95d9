"""Finding stacks of identical layers in a Module class: how they are built and how they are applied.

A stack is found in `__init__` (a comprehension, an append loop, or written-out fields), then every
use of it in the class's methods is classified: a uniform chain we can scan over, `len(...)`, or a
use that blocks the rewrite (indexing, `reversed`, collecting per-layer outputs...).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import libcst as cst

from ..index import ClassInfo, dotted
from ..walk import walk
from ._calls import argument, calls_in
from ._names import assigns_empty_list, fresh, names_in, target_names

SPLIT = "jax.random.split"
COLLECTING_METHODS = frozenset({"append", "extend", "insert", "add", "update", "setdefault"})
LOOP_EXITS = (cst.Break, cst.Continue, cst.Return, cst.Yield, cst.Await)


@dataclass
class Build:
    """How `__init__` builds the stack."""

    statements: list[cst.SimpleStatementLine | cst.For]  # replaced / removed by the fix
    ctor: cst.Call  # one layer's constructor call
    key_arg: cst.BaseExpression | None  # the argument of `ctor` that carries the layer's key
    layer_keys: list[cst.BaseExpression] | None  # per layer (written-out fields)
    keys_iter: cst.BaseExpression | None  # what the comprehension iterated over
    loop_var: str | None
    count: cst.BaseExpression | int | None
    report: cst.CSTNode
    sequential: bool = False  # wrapped in eqx.nn.Sequential, applied by calling it
    keys_listed: bool = False  # the keys are a Python list (`key, *keys = split(...)`)
    keys_slice: str | None = None  # the layers' keys taken by index: `keys[1:n + 1]`
    problem: str | None = None  # why the stack can be reported but not rebuilt

    def keys_text(self, ctx, lib) -> str:
        """The keys as one array, for `filter_vmap` (a Python list of keys is stacked first)."""
        text = self.keys_slice or ctx.text(self.keys_iter)
        return f"{lib('jax.numpy.stack')}({text})" if self.keys_listed else text


@dataclass
class SplitKeys:
    count: cst.BaseExpression | int | None  # how many keys, when it can be told
    listed: bool  # a Python list (star-unpacked), not an array


@dataclass
class Site:
    """One place the stack is applied as a chain."""

    statements: list[cst.CSTNode]  # replaced by the scan
    body: list[cst.CSTNode]  # one step, with the layer bound to `layer_var`
    layer_var: str
    carry: list[str]
    keys: cst.BaseExpression | None = None  # scanned alongside the layers (zip with keys)
    key_var: str | None = None
    split: SplitKeys | None = None  # what is known of those keys
    field_nodes: list[cst.CSTNode] = field(default_factory=list)  # `self.lK` inside the body, per step
    replaced: cst.CSTNode | None = None  # an expression the scan's result replaces (`self.seq(x)`)
    initial: cst.BaseExpression | None = None  # the scan's initial carry, for such a site
    step: str | None = None  # one step's code, when it is not the statements in `body`


@dataclass
class Stack:
    cls: ClassInfo
    fields: list[str]  # the fields it occupies today: one list, or N written-out fields
    build: Build
    sites: list[Site] = field(default_factory=list)
    lens: list[cst.Call] = field(default_factory=list)
    blocker: str | None = None


def self_attribute(node: cst.CSTNode, names: set[str] | None = None) -> str | None:
    if (
        isinstance(node, cst.Attribute)
        and isinstance(node.value, cst.Name)
        and node.value.value == "self"
        and (names is None or node.attr.value in names)
    ):
        return node.attr.value
    return None


def method_statements(scope: cst.FunctionDef | cst.Module) -> list[cst.BaseStatement]:
    if isinstance(scope, cst.Module):
        return list(scope.body)
    return list(scope.body.body) if isinstance(scope.body, cst.IndentedBlock) else []


def assigned_self_field(stmt: cst.CSTNode) -> tuple[str, cst.BaseExpression] | None:
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return None
    small = stmt.body[0]
    if isinstance(small, cst.Assign) and len(small.targets) == 1:
        name = self_attribute(small.targets[0].target)
        if name is not None:
            return name, small.value
    return None


def first_assignments(statements: list[cst.BaseStatement]) -> dict[str, cst.BaseExpression]:
    """Each field's first top-level assignment in `__init__`: what it is built from."""
    built: dict[str, cst.BaseExpression] = {}
    for stmt in statements:
        assigned = assigned_self_field(stmt)
        if assigned is not None and assigned[0] not in built:
            built[assigned[0]] = assigned[1]
    return built


# --- builds --------------------------------------------------------------------------------------
def list_builds(ctx, info: ClassInfo) -> dict[str, Build]:
    """Fields assigned one list of identical layers in `__init__`."""
    init = info.methods.get("__init__")
    if init is None:
        return {}
    statements = method_statements(init)
    builds = {}
    for stmt in statements:
        assigned = assigned_self_field(stmt)
        if assigned is None:
            continue
        name, value = assigned
        inner = _sequential_argument(ctx, value)
        build = comprehension_build(ctx, init, inner or value, stmt) or _append_loop(ctx, init, statements, inner or value, stmt)
        if build is not None and inner is not None:
            if _is_stateful(ctx, build.ctor):
                continue  # Sequential threads `state` through stateful layers; a scan would not
            build.sequential = True
        if build is not None:
            builds[name] = build
    return builds


def _sequential_argument(ctx, value: cst.BaseExpression) -> cst.BaseExpression | None:
    if isinstance(value, cst.Call) and ctx.index.refers_to(value.func, "equinox.nn.Sequential"):
        layers = argument(value, 0, "layers")
        if layers is not None and len(value.args) == 1:
            return layers
    return None


STATEFUL = frozenset({"equinox.nn.BatchNorm", "equinox.nn.SpectralNorm", "equinox.nn.StatefulLayer"})


def _is_stateful(ctx, ctor: cst.Call, seen: frozenset[str] = frozenset()) -> bool:
    """A stateful layer, or a class of this file that builds one: its `eqx.nn.State` is indexed per
    layer, which a stacked, scanned copy of the layers cannot keep."""
    name = ctx.index.qualified_name(ctor.func)
    local = dotted(ctor.func) or ""
    info = ctx.index.classes.get(local)
    bases = {ctx.index.qualified_name(cst.parse_expression(b)) for b in info.bases} if info else set()
    if name in STATEFUL or bases & STATEFUL:
        return True
    init = info.methods.get("__init__") if info and local not in seen else None
    if init is None:
        return False
    return any(_is_stateful(ctx, call, seen | {local}) for call in calls_in(init))


def threads_state(ctx, build: Build, site: Site) -> bool:
    """The layers are stateful, or each step threads a value annotated `eqx.nn.State`."""
    if _is_stateful(ctx, build.ctor):
        return True
    method = next((a for a in ctx.ancestors(site.statements[0]) if isinstance(a, cst.FunctionDef)), None)
    params = [*method.params.params, *method.params.kwonly_params] if method else []
    annotated = {p.name.value for p in params if p.annotation and ctx.index.qualified_name(p.annotation.annotation) == "equinox.nn.State"}
    return bool(annotated & set(site.carry))


def comprehension_build(ctx, scope, value: cst.BaseExpression, stmt, accepts=None) -> Build | None:
    """`[Ctor(..., key=k) for k in keys]` (or a generator in list()/tuple()) with key-only variation."""
    if isinstance(value, cst.Call) and dotted(value.func) in ("list", "tuple") and len(value.args) == 1:
        value = value.args[0].value
    if not isinstance(value, (cst.ListComp, cst.GeneratorExp)):
        return None
    comp = value.for_in
    if comp.ifs or comp.inner_for_in is not None or comp.asynchronous or not isinstance(comp.target, cst.Name):
        return None
    return _layer_build(ctx, scope, value.elt, comp.target.value, comp.iter, [stmt], stmt, accepts)


def _append_loop(ctx, init, statements, value, stmt) -> Build | None:
    """`layers = []; for k in keys: layers.append(Ctor(..., key=k)); self.f = layers`, or the same
    appending onto the field itself: `self.f = []; for k in keys: self.f.append(...)`."""
    if isinstance(value, cst.List) and not value.elements:
        field = assigned_self_field(stmt)[0]
        following = statements[statements.index(stmt) + 1 :]
        loop = next((s for s in following[:1] if isinstance(s, cst.For) and _appends_to(s, f"self.{field}")), None)
        empty = stmt
    elif isinstance(value, cst.Name):
        name = value.value
        empty = next((s for s in statements if assigns_empty_list(s, name)), None)
        loop = next((s for s in statements if isinstance(s, cst.For) and _appends_to(s, name)), None)
        if len(names_in(init.body).loads_of(name)) != 2:  # the append and the assignment to the field
            return None
    else:
        return None
    if empty is None or loop is None or loop.orelse is not None or not isinstance(loop.target, cst.Name):
        return None
    ctor = loop.body.body[-1].body[0].value.args[0].value
    chain = _key_chain(loop)
    if chain is not None:
        return _chained_key_build(ctx, ctor, chain, loop, [empty, loop], stmt)
    return _layer_build(ctx, init, ctor, loop.target.value, loop.iter, [empty, loop], stmt)


def _key_chain(loop: cst.For) -> tuple[str, str] | None:
    """`key, subkey = jr.split(key)` opening the loop body: (key, subkey)."""
    first = loop.body.body[0].body[0] if isinstance(loop.body, cst.IndentedBlock) and len(loop.body.body) == 2 else None
    if not (isinstance(first, cst.Assign) and len(first.targets) == 1 and isinstance(first.value, cst.Call)):
        return None
    names = target_names(first.targets[0].target)
    args = first.value.args
    if len(names) == 2 and args and isinstance(args[0].value, cst.Name) and args[0].value.value == names[0] and len(args) == 1:
        return names[0], names[1]
    return None


def _chained_key_build(ctx, ctor, chain: tuple[str, str], loop: cst.For, statements, report) -> Build | None:
    """Layers keyed by a key re-split on every pass: identical but for the key, but their keys come
    one after another from a chain, which a `filter_vmap` over one split cannot reproduce."""
    split = loop.body.body[0].body[0].value
    key, subkey = chain
    uses = [a for a in ctor.args if names_in(a.value).reads(subkey) or names_in(a.value).reads(key)]
    if not ctx.index.refers_to(split.func, SPLIT) or not _constructs_module(ctx, ctor):
        return None
    if len(uses) != 1 or not (isinstance(uses[0].value, cst.Name) and uses[0].value.value == subkey):
        return None
    if any(names_in(a.value).reads(target_names(loop.target)[0]) for a in ctor.args if isinstance(loop.target, cst.Name)):
        return None  # the loop variable changes more than the key
    bounds = _range_bounds(loop.iter)
    count = (_literal(loop.iter.args[0].value) or loop.iter.args[0].value) if bounds and len(loop.iter.args) == 1 else None
    problem = f"the keys come from a chain re-split on every pass (`{key}, {subkey} = split({key})`), which one split for all layers would not reproduce"
    return Build(statements, ctor, uses[0].value, None, None, None, count, report, problem=problem)


def _appends_to(loop: cst.For, name: str) -> bool:
    body = loop.body.body if isinstance(loop.body, cst.IndentedBlock) else []
    if len(body) not in (1, 2) or not all(isinstance(b, cst.SimpleStatementLine) and len(b.body) == 1 for b in body):
        return False
    if len(body) == 2 and _key_chain(loop) is None:
        return False
    expr = body[-1].body[0]
    call = expr.value if isinstance(expr, cst.Expr) else None
    return (
        isinstance(call, cst.Call)
        and isinstance(call.func, cst.Attribute)
        and dotted(call.func) == f"{name}.append"
        and len(call.args) == 1
    )


def _layer_build(ctx, init, ctor, var: str, iterable, statements, report, accepts=None) -> Build | None:
    if not isinstance(ctor, cst.Call) or not (accepts or _constructs_module)(ctx, ctor):
        return None
    uses = [a for a in ctor.args if names_in(a.value).reads(var)]
    if not uses:
        return _same_key_build(ctx, init, ctor, var, iterable, statements, report)
    if len(uses) == 1 and isinstance(uses[0].value, cst.Subscript):
        return _indexed_key_build(ctx, init, ctor, uses[0].value, var, iterable, statements, report)
    key = uses[0].value if len(uses) == 1 else None
    if key is not None and not isinstance(key, cst.Name):
        key = _nested_key(ctx, key, var)
    if not (isinstance(key, cst.Name) and key.value == var):
        return None  # the loop variable changes more than the key: widths, rates... differ per layer
    split = split_keys(ctx, init, iterable)
    if split is None:
        return None
    return Build(statements, ctor, key, None, iterable, var, split.count, report, keys_listed=split.listed)


def _nested_key(ctx, node: cst.BaseExpression, var: str) -> cst.Name | None:
    """`var` read once inside `node`, as the `key=` of a Module built there:
    `eqx.nn.Sequential([eqx.nn.Linear(h, h, key=k), eqx.nn.LayerNorm(h)])`."""
    reads = [n for n in names_in(node).loads if n.value == var]
    arg = ctx.parent(reads[0]) if len(reads) == 1 else None
    call = ctx.parent(arg) if isinstance(arg, cst.Arg) else None
    if isinstance(call, cst.Call) and arg.keyword is not None and arg.keyword.value == "key" and _constructs_module(ctx, call):
        return reads[0]
    return None


def _indexed_key_build(ctx, init, ctor, key_arg: cst.Subscript, var: str, iterable, statements, report) -> Build | None:
    """`[Block(key=keys[i + c]) for i in range(n)]` over split keys: the layers' keys are the slice
    `keys[c:n + c]`, in order. Any other index (`keys[-i]`) gives the keys the comprehension
    itself picks, stacked: `jnp.stack([keys[-i] for i in range(n)])`."""
    if not (len(key_arg.slice) == 1 and isinstance(key_arg.slice[0].slice, cst.Index)):
        return None
    offset = _offset_of(key_arg.slice[0].slice.value, var)
    split = split_keys(ctx, init, key_arg.value)
    bounds = _range_bounds(iterable)
    if split is None:
        return None
    count = _literal(iterable.args[-1].value) or iterable.args[-1].value if bounds and len(iterable.args) == 1 else None
    if offset is None or bounds is None:
        picked = f"[{ctx.text(key_arg)} for {var} in {ctx.text(iterable)}]"
        return Build(statements, ctor, key_arg, None, None, var, count, report, keys_listed=True, keys_slice=picked)
    low, high = bounds
    start = _plus(low, offset)
    stop = _plus(high, offset)
    keys = f"{ctx.text(key_arg.value)}[{start if start != '0' else ''}:{stop}]"
    return Build(statements, ctor, key_arg, None, None, var, count, report, keys_listed=split.listed, keys_slice=keys)


def _offset_of(index: cst.BaseExpression, var: str) -> int | None:
    """`i` -> 0, `i + 3` / `3 + i` -> 3: a constant offset from the loop variable."""
    if isinstance(index, cst.Name) and index.value == var:
        return 0
    if isinstance(index, cst.BinaryOperation) and isinstance(index.operator, cst.Add):
        for name, number in ((index.left, index.right), (index.right, index.left)):
            if isinstance(name, cst.Name) and name.value == var and _literal(number) is not None:
                return _literal(number)
    return None


def _range_bounds(iterable) -> tuple[str, str] | None:
    """`range(n)` -> ("0", "n"), `range(a, b)` -> ("a", "b"), as source text."""
    if not (isinstance(iterable, cst.Call) and dotted(iterable.func) == "range" and 1 <= len(iterable.args) <= 2):
        return None
    if any(a.star or a.keyword for a in iterable.args):
        return None
    texts = [cst.Module([]).code_for_node(a.value) for a in iterable.args]
    return ("0", texts[0]) if len(texts) == 1 else (texts[0], texts[1])


def _plus(text: str, offset: int) -> str:
    if offset == 0:
        return text
    if text.isdigit():
        return str(int(text) + offset)
    return f"{text} + {offset}"


def _constructs_module(ctx, ctor) -> bool:
    return ctx.index.constructed_module(ctor) is not None


KEY_MAKERS = (SPLIT, "jax.random.PRNGKey", "jax.random.key", "jax.random.fold_in")


def _same_key_build(ctx, init, ctor, var, iterable, statements, report) -> Build | None:
    """`[Ctor(..., key=key) for _ in range(n)]`: every layer is initialised identically. The key may
    be passed positionally, when it is provably a key (bound from `jax.random.split` and the like)."""
    key = ctor_key(ctx, init, ctor)
    if key is None or not (isinstance(iterable, cst.Call) and dotted(iterable.func) == "range"):
        return None
    if len(iterable.args) != 1 or iterable.args[0].star:
        return None
    count = iterable.args[0].value
    return Build(statements, ctor, key, None, None, var, _literal(count) or count, report)


def ctor_key(ctx, fn, ctor: cst.Call) -> cst.BaseExpression | None:
    """The argument carrying a constructor's key: `key=`, or the one positional argument provably a
    key (a name bound from a key-making call, or one element of split keys: `keys[1]`)."""
    key = next((a.value for a in ctor.args if a.keyword is not None and a.keyword.value == "key"), None)
    if key is not None:
        return key
    keys = [a.value for a in ctor.args if a.keyword is None and not a.star and (_is_key(ctx, fn, a.value) or _one_split_key(ctx, fn, a.value))]
    return keys[0] if len(keys) == 1 else None


def _one_split_key(ctx, fn, node) -> bool:
    return (
        isinstance(node, cst.Subscript)
        and len(node.slice) == 1
        and isinstance(node.slice[0].slice, cst.Index)
        and split_keys(ctx, fn, node.value) is not None
    )


def _is_key(ctx, fn, node) -> bool:
    """A name bound in `fn` from a key-making call, as the whole target or one of its elements."""
    if not isinstance(node, cst.Name):
        return False
    bindings = _local_bindings(ctx, fn, node.value, node)
    return len(bindings) == 1 and isinstance(bindings[0][1], cst.Call) and ctx.index.qualified_name(bindings[0][1].func) in KEY_MAKERS


def split_keys(ctx, fn, node) -> SplitKeys | None:
    """`node` provably holds keys from `jax.random.split`: the call itself, a name bound to it (as the
    whole target, or star-unpacked: `key, *keys = split(key, n + 1)`), or a slice of those."""
    if isinstance(node, cst.Call) and ctx.index.refers_to(node.func, SPLIT):
        return SplitKeys(_split_count(node), False)
    if isinstance(node, cst.Subscript) and len(node.slice) == 1 and isinstance(node.slice[0].slice, cst.Slice):
        inner = split_keys(ctx, fn, node.value)
        return None if inner is None else SplitKeys(None, inner.listed)
    if isinstance(node, cst.Name):
        bindings = _local_bindings(ctx, fn, node.value, node)
        if len(bindings) != 1:
            return None
        target, value = bindings[0]
        inner = split_keys(ctx, fn, value) if isinstance(value, cst.Call) else None
        if inner is None or target is None:
            return None
        if isinstance(target, cst.Name):
            return inner
        return SplitKeys(_minus(inner.count, len(target.elements) - 1), True)
    return None


def _split_count(node: cst.Call):
    count = argument(node, 1, "num")
    if count is None:
        return 2  # jax.random.split's default
    return _literal(count) or count


def _minus(count, others: int):
    """`n + k` keys less the k unpacked beside the starred list."""
    if isinstance(count, int):
        return count - others
    if isinstance(count, cst.BinaryOperation) and isinstance(count.operator, cst.Add) and _literal(count.right) == others:
        return count.left
    return None


def _literal(node) -> int | None:
    if isinstance(node, cst.Integer):
        return int(node.value)
    return None


def _local_bindings(ctx, fn: cst.FunctionDef | cst.Module, name: str, at: cst.CSTNode) -> list[tuple[cst.BaseExpression | None, cst.BaseExpression]]:
    """The assignment of `name` that `at` reads, as [(target, value)]: the target is the Name when it
    is the whole target, the tuple when `name` is star-unpacked from it, else None (unknown). It is the
    last top-level assignment of `fn` before `at`'s statement; [] when another kind of binding (in a
    branch, a loop, an augmented assignment, `at`'s own statement) may come between."""
    found: list = []
    for stmt in method_statements(fn):
        if ctx.is_inside(at, stmt):
            return [] if name in names_in(stmt).bound else found[-1:]
        assigned = _assigned_in(stmt, name) if isinstance(stmt, cst.SimpleStatementLine) else None
        if assigned is not None:
            found.append(assigned)
        elif name in names_in(stmt).bound:
            found.append((None, None))  # bound some other way: what `at` reads is unknown
    return []


def _assigned_in(stmt: cst.SimpleStatementLine, name: str) -> tuple[cst.BaseExpression | None, cst.BaseExpression] | None:
    """`name = value` (or `name` among the targets) as the only way `stmt` binds it."""
    found = None
    for small in stmt.body:
        targets = [t.target for t in small.targets] if isinstance(small, cst.Assign) else []
        for target in targets:
            if isinstance(target, cst.Name) and target.value == name:
                found = (target, small.value)
            elif name in target_names(target):
                starred = isinstance(target, (cst.Tuple, cst.List)) and any(
                    isinstance(e, cst.StarredElement) and isinstance(e.value, cst.Name) and e.value.value == name for e in target.elements
                )
                found = (target if starred else None, small.value)
        if not targets and name in names_in(small).bound:
            return None
    return found


def named_builds(ctx, info: ClassInfo, min_fields: int) -> list[tuple[list[str], Build]]:
    """Written-out fields `self.l1 = Ctor(..., key=k1)` ... identical but for the key."""
    init = info.methods.get("__init__")
    if init is None:
        return []
    groups: dict[tuple[str, str], list[tuple[int, str, cst.Call, cst.SimpleStatementLine, cst.BaseExpression]]] = {}
    for stmt in method_statements(init):
        assigned = assigned_self_field(stmt)
        match = re.fullmatch(r"(.*?)(\d+)", assigned[0]) if assigned else None
        if match is None or ctx.index.constructed_module(assigned[1]) is None:
            continue
        call = assigned[1]
        key = ctor_key(ctx, init, call)
        if key is None:
            continue
        shape = _text_without(ctx, call, key)
        groups.setdefault((match.group(1), shape), []).append((int(match.group(2)), assigned[0], call, stmt, key))
    found = []
    for members in groups.values():
        members.sort(key=lambda m: m[0])  # a field assigned twice then fails the contiguity check
        numbers = [m[0] for m in members]
        if len(members) < min_fields or numbers != list(range(numbers[0], numbers[0] + len(numbers))):
            continue
        names = [m[1] for m in members]
        if not _declared_consecutively(info, names):
            continue
        build = Build([m[3] for m in members], members[0][2], members[0][4], [m[4] for m in members], None, None, len(members), members[0][3])
        found.append((names, build))
    return found


def _text_without(ctx, node: cst.CSTNode, hole: cst.CSTNode) -> str:
    start, end = ctx.span(node)
    hole_start, hole_end = ctx.span(hole)
    return ctx.source[start:hole_start] + "\0" + ctx.source[hole_end:end]


def _declared_consecutively(info: ClassInfo, names: list[str]) -> bool:
    order = list(info.fields)
    if not all(n in order for n in names):
        return False
    first = order.index(names[0])
    return order[first : first + len(names)] == names


# --- uses ----------------------------------------------------------------------------------------
def field_uses(ctx, info: ClassInfo, fields: set[str]) -> list[cst.Attribute]:
    uses = []
    for method in info.methods.values():
        collector = _SelfAttributes(fields)
        walk(method, collector)
        uses.extend(collector.found)
    return uses


class _SelfAttributes(cst.CSTVisitor):
    def __init__(self, fields: set[str]):
        self.fields = fields
        self.found: list[cst.Attribute] = []

    def visit_Attribute(self, node: cst.Attribute) -> None:
        if self_attribute(node, self.fields):
            self.found.append(node)


def iterated_by_comprehension(ctx, use) -> bool:
    """`[f(l) for l in self.f]`, also through `zip(...)` or `enumerate(...)`: side by side."""
    parent = ctx.parent(use)
    if isinstance(parent, cst.Arg):
        call = ctx.parent(parent)
        if isinstance(call, cst.Call) and dotted(call.func) in ("zip", "enumerate"):
            use, parent = call, ctx.parent(call)
    return isinstance(parent, cst.CompFor) and parent.iter is use


def describe(ctx, node: cst.CSTNode) -> str:
    """Short source text of a use, for messages."""
    parent = ctx.parent(node)
    if isinstance(parent, (cst.Subscript, cst.Call, cst.Arg)):
        node = parent if not isinstance(parent, cst.Arg) else ctx.parent(parent)
    return ctx.snippet(node)


def loop_site(ctx, use: cst.Attribute) -> Site | str | None:
    """A `for layer in self.f:` (or zip with keys) chain; a blocker message; or None if not a loop."""
    parent = ctx.parent(use)
    keys = None
    loop = parent if isinstance(parent, cst.For) and parent.iter is use else None
    layers_first = True
    if loop is None and isinstance(parent, cst.Arg):
        call = ctx.parent(parent)
        owner = ctx.parent(call)
        if (
            isinstance(call, cst.Call)
            and dotted(call.func) == "zip"
            and len(call.args) == 2
            and not any(a.star or a.keyword for a in call.args)
            and isinstance(owner, cst.For)
            and owner.iter is call
        ):
            layers_first = call.args[0] is parent
            loop, keys = owner, call.args[1 if layers_first else 0].value
        elif isinstance(call, cst.Call) and dotted(call.func) == "enumerate" and isinstance(owner, cst.For) and owner.iter is call:
            loop = owner
    field_nodes: list[cst.CSTNode] = []
    if loop is None:
        indexed = _indexed_loop(ctx, use)
        if isinstance(indexed, str) or indexed is None:
            return indexed
        loop, field_nodes = indexed
    target = loop.target
    enumerated = _enumerated(loop, use)
    if enumerated is not None:
        layer_var, key_var = enumerated
    elif field_nodes:
        layer_var, key_var = fresh(names_in(loop).bound | {n.value for n in names_in(loop).loads}, "layer"), None
    elif keys is not None:
        method = next((a for a in ctx.ancestors(loop) if isinstance(a, cst.FunctionDef)), None)
        split = split_keys(ctx, method, keys) if method is not None else None
        if split is None:
            # Anything else zipped with the layers is per-layer data, which a scan over keys would misread.
            return f"the loop zips per-layer values `{ctx.snippet(keys)}` with the layers"
        names = target_names(target)
        if not (isinstance(target, cst.Tuple) and len(names) == 2 and len(target.elements) == 2):
            return "the loop unpacks its target in a way the rewrite cannot keep"
        layer_var, key_var = names if layers_first else names[::-1]
    elif isinstance(target, cst.Name):
        layer_var, key_var = target.value, None
    else:
        return "the loop unpacks its target in a way the rewrite cannot keep"
    if loop.orelse is not None:
        return "the loop has an `else` clause"
    body = list(loop.body.body) if isinstance(loop.body, cst.IndentedBlock) else [loop.body]
    if enumerated is not None and any(names_in(s).reads(enumerated[1]) for s in body):
        return f"the loop body uses the layer index `{enumerated[1]}`"
    problem = _body_problem(body, layer_var, key_var)
    if problem:
        return problem
    carry = carried(body, exclude={layer_var, key_var, *( [target.value] if field_nodes else [])})
    if not carry:
        return None  # nothing chains from one layer to the next: side by side, not a stack
    key_var = None if enumerated is not None else key_var
    return Site([loop], body, layer_var, carry, keys, key_var, field_nodes=field_nodes, split=split if keys is not None else None)


def _enumerated(loop: cst.For, use: cst.Attribute) -> tuple[str, str] | None:
    """`for i, layer in enumerate(self.f)`: (layer, index) names."""
    call = loop.iter
    if not (isinstance(call, cst.Call) and dotted(call.func) == "enumerate" and len(call.args) == 1 and call.args[0].value is use):
        return None
    names = target_names(loop.target)
    if isinstance(loop.target, cst.Tuple) and len(loop.target.elements) == 2 and len(names) == 2:
        return names[1], names[0]
    return None


def _indexed_loop(ctx, use: cst.Attribute) -> tuple[cst.For, list[cst.CSTNode]] | str | None:
    """`for i in range(len(self.f)): ... self.f[i] ...`: the loop, and every `self.f[i]` in it (the
    layer of the step)."""
    subscript = ctx.parent(use)
    if not (isinstance(subscript, cst.Subscript) and len(subscript.slice) == 1 and isinstance(subscript.slice[0].slice, cst.Index)):
        return None
    index = subscript.slice[0].slice.value
    loop = next((a for a in ctx.ancestors(use) if isinstance(a, (cst.For, cst.FunctionDef))), None)
    if not (isinstance(loop, cst.For) and isinstance(index, cst.Name) and isinstance(loop.target, cst.Name) and loop.target.value == index.value):
        return None
    header = loop.iter
    ranges_len = (
        isinstance(header, cst.Call) and dotted(header.func) == "range" and len(header.args) == 1
        and isinstance(header.args[0].value, cst.Call) and dotted(header.args[0].value.func) == "len"
        and len(header.args[0].value.args) == 1 and _same_field(header.args[0].value.args[0].value, use)
    )
    if not ranges_len:
        return None
    var = loop.target.value
    reads = [n for n in names_in(loop.body).loads if n.value == var]
    layers = [ctx.parent(ctx.parent(ctx.parent(n))) for n in reads]  # Name -> Index -> SubscriptElement -> Subscript
    if not all(isinstance(s, cst.Subscript) and _same_field(s.value, use) for s in layers):
        return f"the loop uses the layer index `{var}` for more than picking the layer"
    return loop, layers


def _same_field(node: cst.CSTNode, use: cst.Attribute) -> bool:
    return self_attribute(node) is not None and self_attribute(node) == use.attr.value


def sequential_call_site(ctx, use: cst.Attribute) -> Site | str | None:
    """`... self.seq(x) ...` or `self.seq(x, key=key)` inside a simple statement."""
    call = ctx.parent(use)
    if not (isinstance(call, cst.Call) and call.func is use):
        return None
    positional = [a for a in call.args if a.keyword is None]
    keywords = [a for a in call.args if a.keyword is not None]
    if len(positional) != 1 or positional[0].star or any(a.keyword.value != "key" for a in keywords):
        return f"`{describe(ctx, use)}` passes arguments the rewrite cannot keep"
    statement = next((a for a in ctx.ancestors(call) if isinstance(a, cst.SimpleStatementLine)), None)
    between = []
    for ancestor in ctx.ancestors(call):
        if ancestor is statement:
            break
        between.append(ancestor)
    if statement is None or any(isinstance(a, (cst.Lambda, cst.CompFor, cst.BaseComp)) for a in between):
        return f"`{describe(ctx, use)}` is called where statements cannot be inserted before it"
    key = keywords[0].value if keywords else None
    key_var = "k" if key is not None else None
    return Site([statement], [], "layer", ["h"], key, key_var, replaced=call, initial=positional[0].value)


def nested_chain_site(ctx, fields: list[str], uses: list[cst.Attribute]) -> Site | str | None:
    """`f(self.l3(f(self.l2(f(self.l1(x))))))`: each layer's call nested in the next, one wrapper."""
    by_field = {u.attr.value: u for u in uses}
    calls = [ctx.parent(by_field[f]) for f in fields]
    if not all(isinstance(c, cst.Call) and c.func is by_field[f] and len(c.args) == 1 and c.args[0].keyword is None and not c.args[0].star for c, f in zip(calls, fields)):
        return "the layers are not each called with one argument"
    wrappers = [calls[i + 1].args[0].value for i in range(len(calls) - 1)]
    shapes = {_text_without(ctx, w, c) for w, c in zip(wrappers, calls)}
    if len(shapes) != 1:
        return "the layers are not applied the same way at every step"
    (shape,) = shapes
    outer = _matching_ancestor(ctx, calls[-1], shape)
    if outer is None:
        return "the last layer is not applied the same way as the others"
    statement = next(a for a in ctx.ancestors(outer) if isinstance(a, cst.SimpleStatementLine))
    inner = calls[0].args[0].value
    step = "h = " + shape.replace("\0", "layer(h)")
    return Site([statement], [], "layer", ["h"], replaced=outer, initial=inner, step=step)


def _matching_ancestor(ctx, call: cst.Call, shape: str) -> cst.CSTNode | None:
    node = call
    while node is not None and not isinstance(node, cst.BaseSmallStatement):
        if isinstance(node, cst.BaseExpression) and _text_without(ctx, node, call) == shape:
            return node
        node = ctx.parent(node)
    return None


def _body_problem(body: list[cst.CSTNode], *loop_vars) -> str | None:
    finder = _Exits()
    for stmt in body:
        walk(stmt, finder)
    if finder.exit:
        return f"the loop body uses `{finder.exit}`"
    if finder.collects:
        return f"the loop collects per-layer results in `{finder.collects}`"
    return None


class _Exits(cst.CSTVisitor):
    def __init__(self):
        self.exit: str | None = None
        self.collects: str | None = None

    def visit_FunctionDef(self, node) -> bool:
        return False  # a nested function's return is its own

    def visit_Lambda(self, node) -> bool:
        return False

    def on_visit(self, node: cst.CSTNode) -> bool:
        if isinstance(node, LOOP_EXITS) and self.exit is None:
            self.exit = type(node).__name__.lower()
        if (
            isinstance(node, cst.Call)
            and isinstance(node.func, cst.Attribute)
            and node.func.attr.value in COLLECTING_METHODS
            and self.collects is None
        ):
            self.collects = cst.Module([]).code_for_node(node.func.value)
        return super().on_visit(node)


def carried(body: list[cst.CSTNode], exclude: set) -> list[str]:
    """Names a step reads before it assigns them: what flows from one layer to the next."""
    bound = set().union(*(names_in(s).bound for s in body))
    assigned: set[str] = set()
    carry: list[str] = []
    for stmt in body:
        names = names_in(stmt)
        for load in names.loads:
            name = load.value
            if name in bound and name not in assigned and name not in carry and name not in exclude:
                carry.append(name)
        assigned |= names.bound
    return carry


def body_temporaries(body: list[cst.CSTNode], carry: list[str], exclude: set) -> set[str]:
    """Names a step assigns that do not flow to the next step: they vanish inside the scan."""
    return set().union(*(names_in(s).bound for s in body)) - set(carry) - exclude


def chain_site(ctx, info: ClassInfo, fields: list[str], uses: list[cst.Attribute]) -> Site | str | None:
    """`x = f(self.l1(x)); x = f(self.l2(x)); ...`: consecutive statements differing only in the field."""
    statements = {id(next((a for a in ctx.ancestors(u) if isinstance(a, cst.SimpleStatementLine)), None)) for u in uses}
    if len(uses) == len(fields) > 1 and len(statements) == 1:
        return nested_chain_site(ctx, fields, uses)
    by_field = {}
    for use in uses:
        stmt = next((a for a in ctx.ancestors(use) if isinstance(a, cst.SimpleStatementLine)), None)
        if stmt is None or use.attr.value in by_field:
            return f"`{describe(ctx, use)}` uses one layer on its own"
        by_field[use.attr.value] = (stmt, use)
    unused = [f for f in fields if f not in by_field]
    if unused:
        return f"`self.{unused[0]}` is built but not applied with the others"
    statements = [by_field[f][0] for f in fields]
    parent = ctx.parent(statements[0])
    siblings = list(parent.body) if isinstance(parent, (cst.IndentedBlock, cst.Module)) else []
    if any(ctx.parent(s) is not parent for s in statements) or not siblings:
        return f"`{describe(ctx, by_field[fields[1]][1])}` is not applied in the same chain as `self.{fields[0]}`"
    first = siblings.index(statements[0])
    if siblings[first : first + len(statements)] != statements:
        return "the layers are not applied one directly after another"
    shapes = {_text_without(ctx, s, by_field[f][1]) for s, f in zip(statements, fields)}
    if len(shapes) != 1:
        return "the layers are not applied the same way at every step"
    carry = carried([statements[0]], exclude=set())
    if not carry:
        return None
    return Site(statements, [statements[0]], "layer", carry, field_nodes=[by_field[fields[0]][1]])
