"""Where each node of a module stands in its source, as character offsets.

libcst's PositionProvider generates the module's code again and, for every token, splits it on
newlines to keep a line and a column: a file's positions cost ~9x printing it. Rules want offsets
(`Context.span`), which are only the running length of the tokens; this is PositionProvider's
codegen state with that count in place of lines and columns, so a node gets the same range,
in offsets. Lines are found from offsets only where a rule asks (`Lines.position`).
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Iterator, Optional

import libcst as cst
from libcst._add_slots import add_slots
from libcst._nodes.internal import CodegenState


@add_slots
@dataclass(frozen=False)
class _OffsetState(CodegenState):
    offset: int = 0
    spans: dict = field(default_factory=dict)  # node -> (start, end)
    _stack: list = field(default_factory=list)

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        self.offset += sum(len(token) for token in self.indent_tokens)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self._stack.append(self.offset)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self._stack.pop()
        if node not in self.spans:  # a syntactic range, recorded inside, wins over the whole node's
            self.spans[node] = (start, self.offset)

    @contextmanager
    def record_syntactic_position(
        self, node: cst.CSTNode, *, start_node: Optional[cst.CSTNode] = None, end_node: Optional[cst.CSTNode] = None
    ) -> Iterator[None]:
        start = self.offset
        try:
            yield
        finally:
            end = self.offset
            start = self.spans[start_node][0] if start_node is not None else start
            end = self.spans[end_node][1] if end_node is not None else end
            self.spans[node] = (start, end)


def spans(module: cst.Module) -> dict[cst.CSTNode, tuple[int, int]]:
    """Every node's (start, end) offsets: PositionProvider's ranges, not counting the whitespace
    a node owns but does not need."""
    state = _OffsetState(default_indent=module.default_indent, default_newline=module.default_newline)
    module._codegen(state)
    return state.spans
