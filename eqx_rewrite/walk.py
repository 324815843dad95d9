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
_CALLBACKS: dict[tuple[type, type], tuple] = {}
_SKIPPED: dict[type, frozenset] = {}


def walk(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    """What `node.visit(visitor)` does for a read-only visitor: `on_visit`, the children unless it
    returned False, `on_leave`."""
    cls = type(visitor)
    if cls.on_visit is not cst.CSTVisitor.on_visit or cls.on_leave is not cst.CSTVisitor.on_leave:
        _walk_hooks(node, visitor)
    else:
        skip = _SKIPPED.get(cls)
        if skip is None:
            skip = _SKIPPED[cls] = frozenset() if any(_callbacks(cls, w) != (None, None) for w in TRIVIA) else TRIVIA
        _walk(node, visitor, cls, skip)


def _walk_hooks(node: cst.CSTNode, visitor: cst.CSTVisitor) -> None:
    if visitor.on_visit(node):
        for child in children(node):
            _walk_hooks(child, visitor)
    visitor.on_leave(node)


def _walk(node: cst.CSTNode, visitor: cst.CSTVisitor, cls: type, skip: frozenset) -> None:
    """CSTVisitor's own dispatch (`visit_<Node>`, `leave_<Node>`), looked up once per node class."""
    node_cls = type(node)
    callbacks = _CALLBACKS.get((cls, node_cls))
    if callbacks is None:
        callbacks = _callbacks(cls, node_cls)
    enter, leave = callbacks
    if enter is None or enter(visitor, node) is not False:
        for name in _fields(node):  # `children(node)`, inlined: this loop is most of every walk
            value = getattr(node, name)
            kind = type(value)
            if kind is tuple or kind is list:
                for child in value:
                    if type(child) not in skip:
                        _walk(child, visitor, cls, skip)
            elif value is not None and kind is not cst.MaybeSentinel and kind not in skip:
                _walk(value, visitor, cls, skip)
    if leave is not None:
        leave(visitor, node)


def _callbacks(cls: type, node_cls: type) -> tuple:
    found = _CALLBACKS[(cls, node_cls)] = tuple(_own(cls, f"{kind}_{node_cls.__name__}") for kind in ("visit", "leave"))
    return found


def _own(cls: type, name: str):
    """The visitor's callback, None for CSTVisitor's empty stubs (it has one for every node class)."""
    method = getattr(cls, name, None)
    return None if method is getattr(cst.CSTVisitor, name, None) else method


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
