"""Reading call arguments the way Python binds them."""

from __future__ import annotations

import libcst as cst

from ..walk import walk


def argument(call: cst.Call, position: int, keyword: str) -> cst.BaseExpression | None:
    """The value bound to a parameter given by `position` or by `keyword`, if the call gives it."""
    positional = [a for a in call.args if a.keyword is None and not a.star]
    if any(a.star for a in call.args):
        return None  # *args / **kwargs: which value lands where is unknowable here
    if position < len(positional):
        return positional[position].value
    return next((a.value for a in call.args if a.keyword is not None and a.keyword.value == keyword), None)


def string_value(node: cst.BaseExpression | None) -> str | None:
    """The value of a plain string literal (no f-string, no concatenation)."""
    if isinstance(node, cst.SimpleString) and "f" not in node.prefix.lower():
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


def calls_in(node: cst.CSTNode) -> list[cst.Call]:
    """Every call inside `node`, nested ones included."""
    found: list[cst.Call] = []

    class Collect(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            found.append(call)

    walk(node, Collect())
    return found
