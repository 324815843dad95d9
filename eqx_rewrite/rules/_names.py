"""Which names a piece of code reads and which it binds: the little scope analysis rules need.

libcst's ScopeProvider would do this for a whole module at ~10x the cost of parsing; rules only ever
ask about one function body or one statement, so they walk just that.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterable, Sequence

import libcst as cst

from ..walk import walk


@dataclass
class Names:
    loads: list[cst.Name] = field(default_factory=list)
    bound: set[str] = field(default_factory=set)

    def reads(self, name: str) -> bool:
        return any(n.value == name for n in self.loads)

    def loads_of(self, name: str) -> list[cst.Name]:
        return [n for n in self.loads if n.value == name]


def names_in(*nodes: cst.CSTNode) -> Names:
    collector = _NameCollector()
    for node in nodes:
        walk(node, collector)
    return collector.names


def function_names(fn: cst.FunctionDef | cst.Lambda) -> Names:
    """Names read and bound in a function's body (nested functions included); params are bound."""
    names = names_in(fn.body)
    names.bound.update(param_names(fn))
    return names


def param_names(fn: cst.FunctionDef | cst.Lambda) -> list[str]:
    return [param.name.value for param in all_params(fn.params)]


def all_params(params: cst.Parameters) -> list[cst.Param]:
    """Every parameter, `*args` and `**kwargs` included."""
    found = [*params.posonly_params, *params.params, *params.kwonly_params]
    return found + [p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param)]


def positional_params(fn: cst.FunctionDef | cst.Lambda) -> list[cst.Param]:
    return [*fn.params.posonly_params, *fn.params.params]


def target_names(target: cst.BaseExpression) -> list[str]:
    return [n.value for n in target_name_nodes(target)]


def target_name_nodes(target: cst.BaseExpression) -> list[cst.Name]:
    """The names an assignment target binds (not the bases of its attributes or subscripts)."""
    if isinstance(target, cst.Name):
        return [target]
    if isinstance(target, (cst.Tuple, cst.List)):
        return [n for el in target.elements for n in target_name_nodes(el.value)]
    if isinstance(target, cst.StarredElement):
        return target_name_nodes(target.value)
    return []


class VariableVisitor(cst.CSTVisitor):
    """Visits only what names variables: an attribute's name and a keyword argument's name do not."""

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        walk(node.value, self)
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:
        walk(node.value, self)
        return False


class _NameCollector(VariableVisitor):
    def __init__(self) -> None:
        self.names = Names()

    def _bind(self, target: cst.BaseExpression) -> None:
        """Names in a binding position are bound; subscripts and attributes there read their base."""
        if isinstance(target, cst.Name):
            self.names.bound.add(target.value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for el in target.elements:
                self._bind(el.value)
        elif isinstance(target, cst.StarredElement):
            self._bind(target.value)
        else:
            walk(target, self)

    def _visit_all(self, nodes: Iterable[cst.CSTNode | None]) -> None:
        for node in nodes:
            if node is not None:
                walk(node, self)

    def visit_Name(self, node: cst.Name) -> None:
        self.names.loads.append(node)

    def visit_Param(self, node: cst.Param) -> bool:
        self.names.bound.add(node.name.value)
        self._visit_all([node.annotation, node.default])
        return False

    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        self._bind(node.target)
        return False

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        self._bind(node.target)
        self._visit_all([node.annotation, node.value])
        return False

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        walk(node.target, self)
        self._bind(node.target)
        walk(node.value, self)
        return False

    def visit_For(self, node: cst.For) -> bool:
        self._bind(node.target)
        self._visit_all([node.iter, node.body, node.orelse])
        return False

    def visit_CompFor(self, node: cst.CompFor) -> bool:
        self._bind(node.target)
        self._visit_all([node.iter, *node.ifs, node.inner_for_in])
        return False

    def visit_AsName(self, node: cst.AsName) -> bool:
        self._bind(node.name)  # type: ignore[arg-type]
        return False

    def visit_NamedExpr(self, node: cst.NamedExpr) -> bool:
        self._bind(node.target)
        walk(node.value, self)
        return False

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.names.bound.add(node.name.value)
        self._visit_all([*node.decorators, node.params, node.returns, node.body])
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.names.bound.add(node.name.value)
        self._visit_all([*node.decorators, *node.bases, *node.keywords, node.body])
        return False

    def visit_Global(self, node: cst.Global) -> bool:
        self.names.bound.update(n.name.value for n in node.names)
        return False

    def visit_Nonlocal(self, node: cst.Nonlocal) -> bool:
        self.names.bound.update(n.name.value for n in node.names)
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            if alias.asname is None:
                self.names.bound.add(cst.helpers.get_full_name_for_node(alias.name).partition(".")[0])
        return True

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if not isinstance(node.names, cst.ImportStar):
            for alias in node.names:
                if alias.asname is None:
                    self.names.bound.add(cst.helpers.get_full_name_for_node(alias.name))
        return True

    def visit_ImportAlias(self, node: cst.ImportAlias) -> bool:
        if node.asname is not None:
            walk(node.asname, self)
        return False


def enclosing_function(ancestors: Iterable[cst.CSTNode]) -> cst.FunctionDef | None:
    return next((a for a in ancestors if isinstance(a, cst.FunctionDef)), None)


def block_statements(block: cst.CSTNode) -> Sequence[cst.BaseStatement]:
    """The statements directly in a module or an indented block."""
    if isinstance(block, cst.Module):
        return block.body
    if isinstance(block, cst.IndentedBlock):
        return block.body
    return ()


def fresh(taken: set[str], *candidates: str) -> str:
    """The first candidate name not taken (then numbered), marked taken."""
    for candidate in candidates:
        if candidate not in taken:
            taken.add(candidate)
            return candidate
    n = 2
    while f"{candidates[-1]}{n}" in taken:
        n += 1
    taken.add(f"{candidates[-1]}{n}")
    return f"{candidates[-1]}{n}"


def assigns_empty_list(stmt: cst.CSTNode | None, name: str) -> bool:
    """`name = []` as a statement of its own."""
    if not isinstance(stmt, cst.SimpleStatementLine) or len(stmt.body) != 1:
        return False
    small = stmt.body[0]
    return (
        isinstance(small, cst.Assign)
        and len(small.targets) == 1
        and isinstance(small.targets[0].target, cst.Name)
        and small.targets[0].target.value == name
        and isinstance(small.value, cst.List)
        and not small.value.elements
    )


def is_len_of(ctx, use: cst.CSTNode) -> bool:
    """`use` is the one argument of a `len(...)` call."""
    arg = ctx.parent(use)
    call = ctx.parent(arg) if isinstance(arg, cst.Arg) else None
    return isinstance(call, cst.Call) and isinstance(call.func, cst.Name) and call.func.value == "len" and len(call.args) == 1


def declared_outer(node: cst.CSTNode) -> set[str]:
    """Names a `global` or `nonlocal` statement inside `node` declares."""
    names: set[str] = set()

    class Declarations(cst.CSTVisitor):
        def visit_Global(self, node: cst.Global) -> None:
            names.update(n.name.value for n in node.names)

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            names.update(n.name.value for n in node.names)

    walk(node, Declarations())
    return names
