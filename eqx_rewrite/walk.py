"""A read-only walk over libcst trees, with a `CSTVisitor`'s callbacks, that builds nothing.

`node.visit(visitor)` rebuilds every node it passes (libcst's `_visit_and_replace_children` is
shared with transformers): a walk costs a copy of the tree, validated, each time. Rules only read,
and walk the module several times, so this visits the same children in the same order without
copying: a few times faster. `visit_<Node>_<field>` attribute hooks are not called (no rule has one).
"""

from __future__ import annotations

import dataclasses
import inspect
from typing import Iterator

import libcst as cst

# Per node class: the fields libcst visits, in its order, and the fields it did not visit when they
# were empty (None, a sentinel, ()), which it may visit when they hold nodes.
_FIELDS: dict[type, tuple[tuple[str, ...], tuple[str, ...]]] = {}


class _FieldOrder(cst.CSTVisitor):
    """Records the fields `_visit_and_replace_children` visits, in its order, without descending."""

    def __init__(self) -> None:
        self.fields: list[str] = []

    def on_visit(self, node: cst.CSTNode) -> bool:
        return False

    def on_visit_attribute(self, node: cst.CSTNode, attribute: str) -> None:
        if attribute not in self.fields:
            self.fields.append(attribute)


def _visited(node: cst.CSTNode) -> tuple[str, ...]:
    recorder = _FieldOrder()
    node._visit_and_replace_children(recorder)
    return tuple(recorder.fields)


def _fields(node: cst.CSTNode) -> tuple[str, ...]:
    entry = _FIELDS.get(type(node))
    if entry is None:
        order = _visited(node)
        unvisited = tuple(f.name for f in dataclasses.fields(node) if f.name not in order and _empty(getattr(node, f.name)))
        entry = _FIELDS[type(node)] = (order, unvisited)
    order, unvisited = entry
    for name in unvisited:  # an f-string's `format_spec` is visited only when it has one
        value = getattr(node, name)
        if value is not None and (isinstance(value, cst.CSTNode) or type(value) in (tuple, list) and value):
            return _visited(node)
    return order


def _empty(value) -> bool:
    return value is None or isinstance(value, cst.MaybeSentinel) or value == () or value == []


def children(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    """`node.children`, in the same order, without rebuilding `node`."""
    # A visited field holds a node, a sequence of nodes, None or MaybeSentinel.DEFAULT; tested by
    # exact type, as isinstance against libcst's abstract classes is slow.
    for name in _fields(node):
        value = getattr(node, name)
        kind = type(value)
        if kind is tuple or kind is list:
            yield from value
        elif value is not None and kind is not cst.MaybeSentinel:
            yield value


# Whitespace, comments and tokens (operators, brackets, commas) hold only whitespace and comments:
# a visitor with no callback for any of them never needs them.
_TOKEN_BASES = (cst.BaseBinaryOp, cst.BaseBooleanOp, cst.BaseCompOp, cst.BaseAugOp, cst.BaseUnaryOp)
_TOKENS = {cst.LeftParen, cst.RightParen, cst.LeftSquareBracket, cst.RightSquareBracket, cst.LeftCurlyBrace, cst.RightCurlyBrace,
           cst.Comma, cst.Dot, cst.Colon, cst.Semicolon, cst.AssignEqual, cst.ImportStar, cst.Asynchronous}
TRIVIA = frozenset(
    {cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.TrailingWhitespace, cst.EmptyLine, cst.Comment, cst.Newline}
    | _TOKENS
    | {c for c in vars(cst).values() if isinstance(c, type) and issubclass(c, _TOKEN_BASES) and not inspect.isabstract(c)}
)


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """What `node.visit(visitor)` does for a read-only visitor: `on_visit`, the children unless it
    returned False, `on_leave`."""
    cls = type(visitor)
    if cls.on_visit is not cst.CSTVisitor.on_visit or cls.on_leave is not cst.CSTVisitor.on_leave:
        _walk_hooks(node, visitor)
    else:
        enters, leaves, skip = _dispatch(cls)
        _walk(node, visitor, enters, leaves, skip)


def _dispatch(cls: type) -> tuple[dict, dict, frozenset]:
    """The visitor class's `visit_<Node>` and `leave_<Node>` by node class name, and what its walks
    skip. Kept on the class: rules define visitors inside functions, a new class per call."""
    found = cls.__dict__.get("_eqx_rewrite_dispatch")
    if found is None:
        enters: dict = {}
        leaves: dict = {}
        for base in reversed(cls.__mro__[: cls.__mro__.index(cst.CSTVisitor)]):  # CSTVisitor's are empty stubs
            for name, value in vars(base).items():
                kind, _, node_name = name.partition("_")
                if kind in ("visit", "leave") and node_name[:1].isupper() and callable(value):
                    (enters if kind == "visit" else leaves)[node_name] = value
        callbacks = enters.keys() | leaves.keys()
        skip = frozenset() if any(t.__name__ in callbacks for t in TRIVIA) else TRIVIA
        found = cls._eqx_rewrite_dispatch = (enters, leaves, skip)
    return found


def _walk_hooks(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    if visitor.on_visit(node):
        for child in children(node):
            _walk_hooks(child, visitor)
    visitor.on_leave(node)


def _walk(node: cst.CSTNode, visitor: cst.CSTVisitor, enters: dict, leaves: dict, skip: frozenset) -> None:
    name = type(node).__name__
    enter = enters.get(name)
    if enter is None or enter(visitor, node) is not False:
        for field_name in _fields(node):  # `children(node)`, inlined: this loop is most of every walk
            value = getattr(node, field_name)
            kind = type(value)
            if kind is tuple or kind is list:
                for child in value:
                    if type(child) not in skip:
                        _walk(child, visitor, enters, leaves, skip)
            elif value is not None and kind is not cst.MaybeSentinel and kind not in skip:
                _walk(value, visitor, enters, leaves, skip)
    leave = leaves.get(name)
    if leave is not None:
        leave(visitor, node)


def parents(module: cst.Module) -> dict[cst.CSTNode, cst.CSTNode]:
    """Every node's parent, as libcst's ParentNodeProvider records them (after the children, in
    its order: a node met twice keeps its last parent), from a walk that copies nothing."""
    found: dict[cst.CSTNode, cst.CSTNode] = {}

    def leave(node: cst.CSTNode) -> None:
        kids = list(children(node))
        for child in kids:
            leave(child)
        for child in kids:
            found[child] = node

    leave(module)
    return found
