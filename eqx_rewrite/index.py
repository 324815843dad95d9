"""ModuleIndex: one pass over a module that rules query instead of re-walking the tree.

It resolves how `equinox`, `jax` and their submodules are imported (any alias, `from` imports), so
rules ask `qualified_name(node) == "jax.lax.scan"` and never look at spellings. It also indexes the
`eqx.Module` subclasses with their fields and methods, and the module-level functions.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from .walk import walk

MODULE_BASES = frozenset({"equinox.Module"})
STATIC_FIELD_MAKERS = frozenset({"equinox.static_field"})
FIELD_MAKERS = frozenset({"equinox.field", "dataclasses.field"})


def dotted(node: cst.BaseExpression) -> str | None:
    """`a.b.c` as a string, or None when the expression is not a plain dotted name."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        head = dotted(node.value)
        return None if head is None else f"{head}.{node.attr.value}"
    return None


@dataclass
class FieldInfo:
    name: str
    annotation: cst.BaseExpression
    static: bool
    node: cst.AnnAssign


@dataclass
class ClassInfo:
    name: str
    node: cst.ClassDef
    bases: list[str]
    fields: dict[str, FieldInfo] = field(default_factory=dict)
    methods: dict[str, cst.FunctionDef] = field(default_factory=dict)


class ModuleIndex:
    def __init__(self, module: cst.Module, project_module_classes: frozenset[str] = frozenset(), star_exports: frozenset[tuple[str, str, str]] = frozenset()):
        self.module = module
        # Names of Module subclasses defined in other files of the same run.
        self.project_module_classes = project_module_classes
        # (module, name, target): the module imports other files of the run make, which a
        # `from module import *` here brings in.
        self.star_exports = star_exports
        self.imports: dict[str, str] = {}
        self.import_statements: list[cst.SimpleStatementLine] = []
        self.classes: dict[str, ClassInfo] = {}
        self.functions: dict[str, cst.FunctionDef] = {}
        self.names: set[str] = set()
        self.calls: list[cst.Call] = []
        self.assigns: list[cst.Assign] = []
        walk(module, _Collector(self))

    # --- names -------------------------------------------------------------------------------
    def qualified_name(self, node: cst.BaseExpression) -> str | None:
        """The fully qualified name an expression refers to through this file's imports."""
        path = dotted(node)
        if path is None:
            return None
        head, _, rest = path.partition(".")
        target = self.imports.get(head)
        if target is None:
            return None
        return f"{target}.{rest}" if rest else target

    def refers_to(self, node: cst.BaseExpression, *qualified: str) -> bool:
        return self.qualified_name(node) in qualified

    def spelling(self, qualified: str) -> str | None:
        """How this file writes `qualified` with the imports it already has, if it can."""
        best: tuple[int, str] | None = None
        for local, target in self.imports.items():
            if qualified == target:
                return local
            if qualified.startswith(target + ".") and (best is None or len(target) > best[0]):
                best = (len(target), local + qualified[len(target) :])
        return None if best is None else best[1]

    def calls_to(self, *qualified: str) -> list[cst.Call]:
        return [c for c in self.calls if self.qualified_name(c.func) in qualified]

    def imports_any(self, *prefixes: str) -> bool:
        return any(t == p or t.startswith(p + ".") for t in self.imports.values() for p in prefixes)

    # --- classes -----------------------------------------------------------------------------
    def is_module_class(self, name: str, _seen: frozenset[str] = frozenset()) -> bool:
        """Whether the class `name` (local, or a dotted name through imports) is an eqx.Module."""
        info = self.classes.get(name)
        if info is None:
            return self._is_external_module_class(name)
        if name in _seen:
            return False
        return any(self.is_module_class(base, _seen | {name}) for base in info.bases)

    def _is_external_module_class(self, name: str) -> bool:
        head, _, rest = name.partition(".")
        target = self.imports.get(head)
        qualified = (f"{target}.{rest}" if rest else target) if target else name
        if qualified in MODULE_BASES or qualified.startswith("equinox.nn."):
            return True
        return qualified.rpartition(".")[2] in self.project_module_classes

    def module_classes(self) -> list[ClassInfo]:
        return [c for n, c in self.classes.items() if self.is_module_class(n)]

    def constructed_module(self, call: cst.BaseExpression) -> str | None:
        """For `Ctor(...)` where Ctor is an eqx.Module class, the class's name as written."""
        if not isinstance(call, cst.Call):
            return None
        name = dotted(call.func)
        if name is not None and self.is_module_class(name):
            return name
        return None


class _Collector(cst.CSTVisitor):
    def __init__(self, index: ModuleIndex):
        self.index = index
        self.depth = 0  # nesting of classes/functions: only depth 0 defines module-level names

    def visit_Name(self, node: cst.Name) -> None:
        self.index.names.add(node.value)

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        walk(node.value, self)  # `.attr` names nothing in this module's namespace
        return False

    def visit_Call(self, node: cst.Call) -> None:
        self.index.calls.append(node)

    def visit_Assign(self, node: cst.Assign) -> None:
        self.index.assigns.append(node)

    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            full = dotted(alias.name)
            if full is None:
                continue
            if alias.asname is not None:
                local = alias.asname.name.value  # type: ignore[union-attr]
                self.index.imports[local] = full
            else:
                local = full.partition(".")[0]
                self.index.imports[local] = local
            self.index.names.add(local)
        return False  # module paths name nothing in this module

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        if isinstance(node.names, cst.ImportStar):
            stem = (dotted(node.module) or "").rpartition(".")[2] if node.module is not None else ""
            for module, local, target in self.index.star_exports:
                if module == stem:
                    self.index.imports[local] = target
                    self.index.names.add(local)
            return False
        # Relative imports keep their dots: `.train.step` names a project function, never a library's.
        dots = "." * len(node.relative)
        base = dots + (dotted(node.module) or "") if node.module is not None else dots
        for alias in node.names:
            name = dotted(alias.name)
            if name is None:
                continue
            local = alias.asname.name.value if alias.asname else name  # type: ignore[union-attr]
            self.index.names.add(local)
            self.index.imports[local] = f"{base}{name}" if base.endswith(".") else f"{base}.{name}"
        return False

    def visit_SimpleStatementLine(self, node: cst.SimpleStatementLine) -> None:
        if self.depth == 0 and any(isinstance(s, (cst.Import, cst.ImportFrom)) for s in node.body):
            self.index.import_statements.append(node)

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        if self.depth == 0:
            bases = [d for d in (dotted(a.value) for a in node.bases if a.keyword is None) if d]
            info = ClassInfo(node.name.value, node, bases)
            self._index_body(info)
            self.index.classes[info.name] = info
        self.depth += 1

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.depth -= 1

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        if self.depth == 0:
            self.index.functions[node.name.value] = node
        self.depth += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.depth -= 1

    def _index_body(self, info: ClassInfo) -> None:
        body = info.node.body
        if not isinstance(body, cst.IndentedBlock):
            return
        for stmt in body.body:
            if isinstance(stmt, cst.FunctionDef):
                info.methods[stmt.name.value] = stmt
            elif isinstance(stmt, cst.SimpleStatementLine):
                for small in stmt.body:
                    if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name):
                        name = small.target.value
                        static = self._is_static(small)
                        info.fields[name] = FieldInfo(name, small.annotation.annotation, static, small)

    def _is_static(self, node: cst.AnnAssign) -> bool:
        value = node.value
        if not isinstance(value, cst.Call):
            return False
        maker = self.index.qualified_name(value.func)
        if maker in STATIC_FIELD_MAKERS:
            return True
        if maker in FIELD_MAKERS:
            return any(
                a.keyword is not None
                and a.keyword.value == "static"
                and isinstance(a.value, cst.Name)
                and a.value.value == "True"
                for a in value.args
            )
        return False
