"""Python's scopes, as far as rules that move state need them: which scope binds a name, and who
reads it later.

A fix that stops rebinding a name (EQX002 keeps the state flat through a loop) changes what every
deferred reader of that name sees: a nested function or lambda closing over it, a module function
reading it as a global, `locals()`. These are found here, per scope, in one walk of the tree the rule
asks about (a function, or the module for module-level code), not with libcst's module-wide
ScopeProvider, which costs several times a parse.

Comprehensions are folded into the scope that contains them: they run where they stand, so their
reads are immediate, as a statement's are. Lambdas and `def`s are deferred scopes.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import libcst as cst

from ..walk import walk
from ._names import VariableVisitor, all_params

# Calls through which a scope's locals (or globals) can be read or written without naming them.
INTROSPECTION = frozenset({"locals", "vars", "globals", "eval", "exec", "_getframe", "currentframe"})
ScopeNode = cst.Module | cst.FunctionDef | cst.Lambda | cst.ClassDef


@dataclass(eq=False)  # one per scope of the tree: equal only to itself, so it can key a memo
class Scope:
    node: ScopeNode
    parent: Scope | None
    bindings: dict[str, list[cst.CSTNode]] = field(default_factory=dict)  # name -> binding sites
    globals: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    loads: list[cst.Name] = field(default_factory=list)
    deletes: list[cst.Name] = field(default_factory=list)
    introspection: list[cst.Call] = field(default_factory=list)
    children: list[Scope] = field(default_factory=list)

    @property
    def deferred(self) -> bool:
        """Its body runs when called, not where it stands."""
        return isinstance(self.node, (cst.FunctionDef, cst.Lambda))

    def binds(self, name: str) -> bool:
        return name in self.bindings and name not in self.globals and name not in self.nonlocals

    def resolve(self, name: str) -> Scope | None:
        """The scope whose binding of `name` a read here sees (None: a builtin or undefined)."""
        if name in self.globals:
            return self.root()
        scope: Scope | None = self
        first = True
        while scope is not None:
            # A class body's names are not visible to the functions nested in it.
            if (first or not isinstance(scope.node, cst.ClassDef)) and scope.binds(name):
                return scope
            first = False
            scope = scope.parent
        return None

    def root(self) -> Scope:
        scope = self
        while scope.parent is not None:
            scope = scope.parent
        return scope

    def descendants(self) -> Iterator[Scope]:
        for child in self.children:
            yield child
            yield from child.descendants()


class Scopes:
    """Every scope of a module, and which scope each node belongs to."""

    def __init__(self, module: cst.Module):
        self.module_scope = Scope(module, None)
        self._of: dict[int, Scope] = {id(module): self.module_scope}
        walk(module, _Walker(self))

    def scope_of(self, node: cst.CSTNode, ancestors) -> Scope:
        """The scope `node`'s code runs in, given its ancestors (innermost first). Decorators,
        defaults and bases run in the scope around their function or class, not in its body."""
        child = node
        for ancestor in ancestors:
            scope = self._of.get(id(ancestor))
            if scope is not None and (ancestor is self.module_scope.node or child is ancestor.body):
                return scope
            child = ancestor
        return self.module_scope

    def scope(self, node: ScopeNode) -> Scope:
        return self._of[id(node)]


class _Walker(VariableVisitor):
    def __init__(self, scopes: Scopes):
        self.scopes = scopes
        self.stack = [scopes.module_scope]

    @property
    def current(self) -> Scope:
        return self.stack[-1]

    def _push(self, node: ScopeNode) -> None:
        scope = Scope(node, self.current)
        self.current.children.append(scope)
        self.scopes._of[id(node)] = scope
        self.stack.append(scope)

    def _bind(self, name: str, site: cst.CSTNode) -> None:
        self.current.bindings.setdefault(name, []).append(site)

    def _bind_target(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value, target)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._bind_target(element.value)
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value)
        else:
            walk(target, self)  # `a.b = ...`, `a[i] = ...` read `a`

    def _visit(self, *nodes: cst.CSTNode | None) -> None:
        for node in nodes:
            if node is not None:
                walk(node, self)

    # --- scopes ------------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._visit(*node.decorators, node.returns)
        self._function(node, bind=node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._function(node)
        return False

    def _function(self, node: cst.FunctionDef | cst.Lambda, bind: str | None = None) -> None:
        """Defaults and annotations run where the function is defined; its parameters and body in
        its own scope."""
        for param in all_params(node.params):
            self._visit(param.default, param.annotation)
        if bind is not None:
            self._bind(bind, node)
        self._push(node)
        for param in all_params(node.params):
            self._bind(param.name.value, param)
        walk(node.body, self)
        self.stack.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self._visit(*node.decorators, *node.bases, *node.keywords)
        self._bind(node.name.value, node)
        self._push(node)
        walk(node.body, self)
        self.stack.pop()
        return False

    # --- bindings ----------------------------------------------------------------------------
    def visit_AssignTarget(self, node: cst.AssignTarget) -> bool:
        self._bind_target(node.target)
        return False

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        self._visit(node.annotation, node.value)
        if node.value is not None or not isinstance(node.target, cst.Name):
            self._bind_target(node.target)
        else:
            self._bind(node.target.value, node.target)  # `x: int` makes x local all the same
        return False

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        walk(node.value, self)
        walk(node.target, self)
        self._bind_target(node.target)
        return False

    def visit_For(self, node: cst.For) -> bool:
        walk(node.iter, self)
        self._bind_target(node.target)
        self._visit(node.body, node.orelse)
        return False

    def visit_CompFor(self, node: cst.CompFor) -> bool:
        # Folded into the enclosing scope: the loop variable is the comprehension's own, but a name
        # bound there never escapes to shadow anything the rules look for.
        walk(node.iter, self)
        self._visit(*node.ifs, node.inner_for_in)
        return False

    def visit_NamedExpr(self, node: cst.NamedExpr) -> bool:
        walk(node.value, self)
        self._bind_target(node.target)
        return False

    def visit_WithItem(self, node: cst.WithItem) -> bool:
        walk(node.item, self)
        if node.asname is not None:
            self._bind_target(node.asname.name)
        return False

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> bool:
        self._visit(node.type)
        if node.name is not None:
            self._bind_target(node.name.name)
        walk(node.body, self)
        return False

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            name = alias.asname.name if alias.asname else alias.name
            local = cst.helpers.get_full_name_for_node(name) or ""
            self._bind(local.partition(".")[0], alias)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if isinstance(node.names, cst.ImportStar):
            return False
        for alias in node.names:
            name = alias.asname.name if alias.asname else alias.name
            self._bind(cst.helpers.get_full_name_for_node(name) or "", alias)
        return False

    def visit_MatchAs(self, node: cst.MatchAs) -> bool:
        self._visit(node.pattern)
        if node.name is not None:
            self._bind(node.name.value, node.name)
        return False

    def visit_MatchStar(self, node: cst.MatchStar) -> bool:
        if node.name is not None:
            self._bind(node.name.value, node.name)
        return False

    def visit_Global(self, node: cst.Global) -> bool:
        self.current.globals.update(n.name.value for n in node.names)
        return False

    def visit_Nonlocal(self, node: cst.Nonlocal) -> bool:
        self.current.nonlocals.update(n.name.value for n in node.names)
        return False

    def visit_Del(self, node: cst.Del) -> bool:
        self._deleted(node.target)
        return False

    def _deleted(self, target: cst.BaseExpression) -> None:
        if isinstance(target, cst.Name):
            self.current.deletes.append(target)
            self._bind(target.value, target)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                self._deleted(element.value)
        else:
            walk(target, self)

    # --- reads -------------------------------------------------------------------------------
    def visit_Name(self, node: cst.Name) -> None:
        self.current.loads.append(node)

    def visit_Call(self, node: cst.Call) -> None:
        func = node.func
        name = func.value if isinstance(func, cst.Name) else func.attr.value if isinstance(func, cst.Attribute) else None
        if name in INTROSPECTION:
            self.current.introspection.append(node)

