"""The copy-free walk visits what libcst's own `visit` visits, in its order, and finds the same
parents; spans are PositionProvider's ranges."""

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, ParentNodeProvider, PositionProvider

from eqx_rewrite.engine import Lines
from eqx_rewrite.offsets import spans
from eqx_rewrite.walk import children, parents, walk

ROOT = Path(__file__).resolve().parent.parent
SOURCES = sorted([*ROOT.glob("rules/*/*.py"), *ROOT.glob("eqx_rewrite/**/*.py"), *ROOT.glob("examples/*.py")])
SYNTAX = '''
import a.b as c
from . import d
@dec(1)
async def f(x, /, y: int = 2, *args, z, **kw) -> "T":
    global g
    async with open(x) as (h, i), j:
        async for k in l:
            yield (m := k) if k else [n for n in k if n] or {o: p for o, p in q}
    try:
        r = s[1:2, ::3] @ t ** -u
    except* (E, F) as e:
        raise G from e
    finally:
        del v
    match w:
        case [1, *rest] | {"k": 2, **more} | Point(x=0) if rest:
            pass
    lambda *a, b=1, **c: (yield)
    return f"{x!r:>{y}} {z=}"  # comment
class C(Base, metaclass=M):
    x: int
    def m(self): nonlocal_ = ...; assert x, "y"; print(*a, **b)
'''


def _trees():
    yield cst.parse_module(SYNTAX)
    yield cst.parse_module("x = (\r\n  1)\r\nif x:\r\n\ty = 2  # c\r\n")
    for path in SOURCES:
        yield cst.parse_module(path.read_text())


def _nodes(module):
    stack = [module]
    while stack:
        node = stack.pop()
        yield node
        stack.extend(node.children)


@pytest.mark.parametrize("module", list(_trees()), ids=lambda m: str(len(m.code)))
def test_children_and_parents_are_libcsts(module):
    for node in _nodes(module):
        ours, theirs = list(children(node)), list(node.children)
        assert len(ours) == len(theirs) and all(a is b for a, b in zip(ours, theirs)), type(node).__name__
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(ParentNodeProvider)
    found = parents(module)
    assert found.keys() == expected.keys()
    assert all(found[node] is parent for node, parent in expected.items())


@pytest.mark.parametrize("module", list(_trees()), ids=lambda m: str(len(m.code)))
def test_spans_are_position_providers_ranges(module):
    lines = Lines(module.code)
    found = spans(module)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert found.keys() == expected.keys()
    for node, where in expected.items():
        assert found[node] == (lines.offset(where.start.line, where.start.column), lines.offset(where.end.line, where.end.column))


class _Plain(cst.CSTVisitor):
    """No callback for whitespace, comments or tokens: the walk skips them."""

    def __init__(self):
        self.seen = []

    def visit_Name(self, node):
        self.seen.append(("name", node))

    def visit_Lambda(self, node):
        self.seen.append(("lambda", node))
        return False  # its body is skipped, as libcst skips it

    def leave_Call(self, node):
        self.seen.append(("call", node))


class _Recorder(_Plain):
    """With a callback for comments: the walk must visit whitespace and tokens to reach them."""

    def visit_Comment(self, node):
        self.seen.append(("comment", node))


class _Hooked(_Recorder):
    def on_visit(self, node):
        self.seen.append(("on_visit", node))
        return super().on_visit(node)


@pytest.mark.parametrize("visitor", [_Plain, _Recorder, _Hooked])
def test_walk_calls_back_as_visit_does(visitor):
    module = cst.parse_module(SYNTAX)
    expected, found = visitor(), visitor()
    module.visit(expected)
    walk(module, found)
    assert [kind for kind, _ in found.seen] == [kind for kind, _ in expected.seen]
    assert all(a is b for (_, a), (_, b) in zip(found.seen, expected.seen))
