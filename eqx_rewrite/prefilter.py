"""Cheap facts about a module, from Python's own `ast`, that rules use to skip files before libcst.

libcst parses ~14k lines/s; `ast` ~10x faster. One walk collects the shapes every rule needs as a
necessary condition (a class with `__init__` iterating `self.x`, a jit'd function called in a loop
with carried names, ...). A rule whose condition fails cannot fire, so the file is not parsed by
libcst for it. tests/test_prefilter.py proves the filters never hide a finding.
"""

from __future__ import annotations

import ast
import re
from dataclasses import dataclass, field

from .project import jitted_by_module

# Setting fields of `self` here is construction, which EQX005 leaves alone.
CONSTRUCTION_METHODS = frozenset({"__init__", "__post_init__", "__check_init__"})
INIT_NAME = re.compile(r"^(?:\w+_(?:init|initializer|initialiser|init_fn)|init_\w+)$")
NUMBERED = re.compile(r"^([A-Za-z_]\w*?)\d+$")
KEY_MAKERS = frozenset({"PRNGKey", "key", "split", "fold_in", "clone"})
WRAPPERS = frozenset({"jit", "filter_jit", "pmap", "filter_pmap"})
TREE_ALIASES = frozenset(f"tree_{n}" for n in ("map", "leaves", "flatten", "unflatten", "structure", "transpose", "reduce", "all"))
EQUINOX_DEPRECATED = frozenset({"static_field", "tree_inference"})
KEY_NAME = re.compile(r"^(?:key|rng|prng_key|rng_key|\w+_key|key_\w+)$")  # parameters taken for keys


@dataclass
class Features:
    class_with_init: bool = False
    built_stacks: set[str] = field(default_factory=set)  # `self.f = [C(...) for ...]` and the like
    iterated_self_fields: set[str] = field(default_factory=set)  # `for x in self.f`, `zip(self.f, ...)`
    numbered_fields: dict[str, int] = field(default_factory=dict)  # `self.l1 = C(...)`: prefix -> count
    unpacked_members: bool = False  # `self.a, self.b = (C(...) for ...)`
    calls_numbered_self_field: bool = False  # `self.l1(...)`
    sequential_fields: set[str] = field(default_factory=set)  # `self.f = Sequential(...)`
    jitted: set[str] = field(default_factory=set)  # functions and methods compiled with a *jit*
    carried_calls_in_loops: set[str] = field(default_factory=set)  # `x, y = f(x, ...)` inside a loop
    state_calls_in_loops: set[str] = field(default_factory=set)  # two or more carried: `m, s = f(m, s, x)`
    listcomp_names: set[str] = field(default_factory=set)  # `name = [Call(...) for k in ...]`
    iterated_names: set[str] = field(default_factory=set)  # names a loop or comprehension iterates
    init_kwargs_default_none: bool = False
    mutates: bool = False  # object.__setattr__, x.__dict__[...] =, vars(x)[...] =, replace(...)
    calls_tree_at: bool = False  # `tree_at(...)`, however it is reached
    scan_bodies: list[ast.AST] = field(default_factory=list)  # `scan(body, init_name, ...)`'s body
    functions: dict[str, list[ast.FunctionDef]] = field(default_factory=dict)
    # Functions imported here that another file of the run compiles with jit (EQX002 reports those).
    imported_jitted: set[str] = field(default_factory=set)
    key_names: set[str] = field(default_factory=set)  # bound from a key maker, or parameters named like keys
    key_aliases: list[tuple[str, str]] = field(default_factory=list)  # (name, the name it was bound from)
    call_arguments: list[tuple[str, bool]] = field(default_factory=list)  # (name, inside a loop or comprehension)
    jit_in_loop: bool = False  # a jit/pmap wrapper called, or a function decorated with one, inside a loop
    # Functions called in a loop with an argument that may be a Python number (a name, arithmetic, a cast).
    called_with_numbers_in_loops: set[str] = field(default_factory=set)
    jax_tree_alias: bool = False  # `x.tree_map` (not `x.y.tree_map`), or `from jax import tree_map`
    equinox_deprecated: bool = False  # `static_field`, `tree_inference`, or `Dropout(deterministic=...)`

    @property
    def may_reuse_keys(self) -> bool:
        """Some key (or an alias of one) is a call's argument twice, or once where it runs per pass."""
        keys, grown = set(self.key_names), True
        while grown:
            before = len(keys)
            keys |= {name for name, source in self.key_aliases if source in keys}
            grown = len(keys) > before
        draws = [repeated for name, repeated in self.call_arguments if name in keys]
        return len(draws) >= 2 or any(draws)

    @property
    def calls_scan_ignoring_carry(self) -> bool:
        """Some scan body (a lambda, or a function of that name) never reads its first parameter."""
        for body in self.scan_bodies:
            candidates = [body] if isinstance(body, ast.Lambda) else self.functions.get(getattr(body, "id", ""), [])
            if any(_ignores_first_parameter(fn) for fn in candidates):
                return True
        return False


def _ignores_first_parameter(fn: ast.AST) -> bool:
    params = [*fn.args.posonlyargs, *fn.args.args]
    if len(params) < 2:
        return False
    first = params[0].arg
    body = [fn.body] if isinstance(fn, ast.Lambda) else fn.body
    return not any(isinstance(n, ast.Name) and n.id == first for part in body for n in ast.walk(part))


def features(tree: ast.Module, project_jitted: frozenset[tuple[str, str]] = frozenset()) -> Features:
    collector = _Collector(project_jitted)
    collector.visit(tree)
    return collector.finish()


def _last_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def _is_jit(node: ast.AST) -> bool:
    """`jit`, `jax.jit`, `eqx.filter_jit`, called or not, or inside `partial(...)`."""
    if isinstance(node, ast.Call):
        return _is_jit(node.func) or any(_is_jit(a) for a in node.args[:1])
    name = _last_name(node)
    return name is not None and "jit" in name


def _may_be_number(node: ast.AST) -> bool:
    """What EQX008 takes for a Python number changing per pass: a name, arithmetic, a cast."""
    if isinstance(node, ast.Call):
        return _last_name(node.func) in ("float", "int")
    return isinstance(node, (ast.Name, ast.BinOp, ast.UnaryOp))


def _is_self_field(node: ast.AST) -> bool:
    return isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id == "self"


def _is_layer_list(value: ast.AST, appended: set[str]) -> bool:
    """`[C(...) for ...]`, `list/tuple(C(...) for ...)`, or a name filled by `.append` in a loop."""
    if isinstance(value, ast.Call) and _last_name(value.func) in ("list", "tuple") and len(value.args) == 1:
        value = value.args[0]
    if isinstance(value, (ast.ListComp, ast.GeneratorExp)):
        return isinstance(value.elt, ast.Call)
    return isinstance(value, ast.Name) and value.id in appended


class _Collector(ast.NodeVisitor):
    def __init__(self, project_jitted: frozenset[tuple[str, str]]) -> None:
        self.project_jitted = project_jitted
        self.features = Features()
        self.loops = 0
        self.functions: list[str] = []  # names of the enclosing functions, innermost last
        self.appended: set[str] = set()  # names `.append(...)`ed to inside a loop
        self.split_names: set[str] = set()  # names assigned from a `split(...)` call
        self.listcomps: list[tuple[set[str], ast.AST]] = []  # `names = [C(...) for _ in iterable]`
        self.comprehensions = 0  # depth of comprehensions around the node being visited

    def finish(self) -> Features:
        """Facts that depend on the whole file: a list built over split keys, wherever they are."""
        for names, iterable in self.listcomps:
            if isinstance(iterable, ast.Call) and _last_name(iterable.func) == "split":
                self.features.listcomp_names |= names
            elif isinstance(iterable, ast.Name) and iterable.id in self.split_names:
                self.features.listcomp_names |= names
        return self.features

    def visit_ClassDef(self, node: ast.ClassDef) -> None:
        if any(isinstance(s, ast.FunctionDef) and s.name == "__init__" for s in node.body):
            self.features.class_with_init = True
        self.generic_visit(node)

    def visit_Lambda(self, node: ast.Lambda) -> None:
        self.functions.append("<lambda>")
        self.generic_visit(node)
        self.functions.pop()

    def visit_FunctionDef(self, node: ast.FunctionDef) -> None:
        self.features.functions.setdefault(node.name, []).append(node)
        if any(_is_jit(d) for d in node.decorator_list):
            self.features.jitted.add(node.name)
        if not self.functions or node.name == "__init__":  # a module-level factory, or a constructor
            args = node.args
            defaults = list(zip(args.args[len(args.args) - len(args.defaults) :], args.defaults))
            defaults += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
            if any(INIT_NAME.match(a.arg) and isinstance(d, ast.Constant) and d.value is None for a, d in defaults):
                self.features.init_kwargs_default_none = True
        if self.loops and any(_last_name(n) in WRAPPERS for d in node.decorator_list for n in ast.walk(d)):
            self.features.jit_in_loop = True
        args = node.args
        self.features.key_names.update(a.arg for a in (*args.posonlyargs, *args.args, *args.kwonlyargs) if KEY_NAME.match(a.arg))
        loops, self.loops = self.loops, 0  # a nested function's body is not inside the loop
        self.functions.append(node.name)
        self.generic_visit(node)
        self.functions.pop()
        self.loops = loops

    visit_AsyncFunctionDef = visit_FunctionDef

    def _iterates(self, iterable: ast.AST) -> None:
        """Any field or name in the iterable, however wrapped (`zip`, `enumerate`, `range(len(...))`):
        a superset of what the rules iterate, so no wrapping hides a stack."""
        for each in ast.walk(iterable):
            if _is_self_field(each):
                self.features.iterated_self_fields.add(each.attr)
            if isinstance(each, ast.Name):
                self.features.iterated_names.add(each.id)

    def _binds_keys(self, target: ast.AST, value: ast.AST) -> None:
        """`k1, k2 = split(key)` binds keys; `k = key`, `k = keys[0]`, `for k in keys` may alias them."""
        names = [n.id for n in ast.walk(target) if isinstance(n, ast.Name)]
        if isinstance(value, ast.Call) and _last_name(value.func) in KEY_MAKERS:
            self.features.key_names.update(names)
        source = value.value if isinstance(value, ast.Subscript) else value
        if isinstance(source, ast.Name):
            self.features.key_aliases.extend((n, source.id) for n in names)

    def _comprehension(self, node: ast.AST) -> None:
        self.comprehensions += 1
        self.generic_visit(node)
        self.comprehensions -= 1

    visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    def visit_For(self, node: ast.For) -> None:
        self._binds_keys(node.target, node.iter)
        self._iterates(node.iter)
        self.loops += 1
        self.generic_visit(node)
        self.loops -= 1

    def visit_While(self, node: ast.While) -> None:
        self.loops += 1
        self.generic_visit(node)
        self.loops -= 1

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self._binds_keys(node.target, node.iter)
        self._iterates(node.iter)
        self.generic_visit(node)

    def visit_Assign(self, node: ast.Assign) -> None:
        value = node.value
        for target in node.targets:
            self._binds_keys(target, value)
        if isinstance(value, ast.Call) and _is_jit(value.func):
            self.features.jitted.update(t.id for t in node.targets if isinstance(t, ast.Name))
        if isinstance(value, ast.Call) and _last_name(value.func) == "split":
            self.split_names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        if isinstance(value, ast.ListComp) and isinstance(value.elt, ast.Call):
            names = {t.id for t in node.targets if isinstance(t, ast.Name)}
            self.listcomps.append((names, value.generators[0].iter))
        if self.loops and isinstance(value, ast.Call):
            targets = {n.id for t in node.targets for n in ast.walk(t) if isinstance(n, ast.Name)}
            args = {a.id for a in [*value.args, *(k.value for k in value.keywords)] if isinstance(a, ast.Name)}
            name = _last_name(value.func)
            if targets & args and name is not None:
                self.features.carried_calls_in_loops.add(name)
                if len(targets & args) >= 2:
                    self.features.state_calls_in_loops.add(name)
        for target in node.targets:
            if _is_self_field(target):
                self._self_assignment(target.attr, value)
            if isinstance(target, ast.Tuple) and all(_is_self_field(e) for e in target.elts) and _is_layer_list(value, set()):
                self.features.unpacked_members = True
            if isinstance(target, ast.Subscript):
                base = target.value
                if isinstance(base, ast.Attribute) and base.attr == "__dict__" and not self._constructs(base.value):
                    self.features.mutates = True
                if isinstance(base, ast.Call) and _last_name(base.func) == "vars":
                    if not (base.args and self._constructs(base.args[0])):
                        self.features.mutates = True
        self.generic_visit(node)

    def _constructs(self, target: ast.AST) -> bool:
        """`self` inside `__init__` (the innermost function, as the rule judges it)."""
        innermost = self.functions[-1] if self.functions else None
        return isinstance(target, ast.Name) and target.id == "self" and innermost in CONSTRUCTION_METHODS

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if node.attr in TREE_ALIASES and isinstance(node.value, ast.Name):
            self.features.jax_tree_alias = True
        if node.attr in EQUINOX_DEPRECATED:
            self.features.equinox_deprecated = True
        self.generic_visit(node)

    def visit_Import(self, node: ast.Import) -> None:
        if any(a.name == "dataclasses" and a.asname for a in node.names):
            self.features.mutates = True  # `dc.replace(...)` can no longer be told apart cheaply
        for alias in node.names:
            self._imported_module(alias.name)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        names = {a.name for a in node.names}
        if node.module == "jax" and names & TREE_ALIASES:
            self.features.jax_tree_alias = True
        if node.module == "equinox" and names & EQUINOX_DEPRECATED:
            self.features.equinox_deprecated = True
        if node.module == "dataclasses" and any(a.name == "replace" and a.asname for a in node.names):
            self.features.mutates = True
        stem = (node.module or "").rpartition(".")[2]
        for alias in node.names:
            self._imported_module(alias.name)
            if (stem, alias.name) in self.project_jitted:
                self.features.imported_jitted.add(alias.asname or alias.name)

    def _imported_module(self, name: str) -> None:
        """`train.make_step(...)` reaches a jitted function through its imported module."""
        self.features.imported_jitted.update(jitted_by_module(self.project_jitted).get(name.rpartition(".")[2], ()))

    def _self_assignment(self, name: str, value: ast.AST) -> None:
        if _is_layer_list(value, self.appended):
            self.features.built_stacks.add(name)
        elif isinstance(value, ast.Call) and _last_name(value.func) == "Sequential" and value.args:
            if _is_layer_list(value.args[0], self.appended):
                self.features.sequential_fields.add(name)
        elif isinstance(value, ast.Call):
            numbered = NUMBERED.match(name)
            if numbered:
                prefix = numbered.group(1)
                self.features.numbered_fields[prefix] = self.features.numbered_fields.get(prefix, 0) + 1

    def visit_Call(self, node: ast.Call) -> None:
        name = _last_name(node.func)
        func = node.func
        if self.loops and name in WRAPPERS:
            self.features.jit_in_loop = True
        if self.loops and isinstance(func, ast.Name) and any(_may_be_number(a) for a in [*node.args, *(k.value for k in node.keywords)]):
            self.features.called_with_numbers_in_loops.add(func.id)
        if name == "Dropout" and any(k.arg == "deterministic" for k in node.keywords):
            self.features.equinox_deprecated = True
        for value in [*node.args, *(k.value for k in node.keywords)]:
            base = value.value if isinstance(value, ast.Subscript) else value
            if isinstance(base, ast.Name):
                self.features.call_arguments.append((base.id, bool(self.loops or self.comprehensions)))
        if self.loops and name == "append" and isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name):
            self.appended.add(func.value.id)
        if self.loops and name == "append" and isinstance(func, ast.Attribute) and _is_self_field(func.value):
            self.features.built_stacks.add(func.value.attr)  # `self.f.append(...)` onto the field itself
        if name == "__setattr__" and isinstance(func, ast.Attribute) and _last_name(func.value) == "object":
            if not (node.args and self._constructs(node.args[0])):
                self.features.mutates = True
        if isinstance(func, ast.Name) and func.id == "replace":
            self.features.mutates = True
        if isinstance(func, ast.Attribute) and name == "replace" and _last_name(func.value) == "dataclasses":
            self.features.mutates = True
        if name == "scan":
            keywords = {k.arg: k.value for k in node.keywords}
            body = node.args[0] if node.args else keywords.get("f")
            init = node.args[1] if len(node.args) > 1 else keywords.get("init")
            if isinstance(init, ast.Name) and isinstance(body, (ast.Name, ast.Lambda)):
                self.features.scan_bodies.append(body)
        if name == "tree_at":
            self.features.calls_tree_at = True
        if self.loops and isinstance(func, ast.Subscript) and _is_self_field(func.value):
            self.features.iterated_self_fields.add(func.value.attr)  # `self.f[i](...)`: iterated by index
        if name is not None and NUMBERED.match(name) and _is_self_field(node.func):
            self.features.calls_numbered_self_field = True
        self.generic_visit(node)

