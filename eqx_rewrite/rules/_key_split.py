"""EQX007's fix: split a reused key into one key per draw, right before the first draw.

The draws of one key value are looked for in one block, between the statements that bind the key;
anything less plain (a draw in a branch or a comprehension, the key read by a closure, a rebinding
in a branch) is left unfixed, because the split could then miss a draw or change a read it can't see.
"""

from __future__ import annotations

import libcst as cst

from ..rule import Edit, Fix, Safety
from ..walk import walk
from ._key_draws import Draw, draws_in
from ._names import block_statements, declared_outer, fresh, names_in, param_names

SPLIT = "jax.random.split"
LOOPS = (cst.For, cst.While)


def split_fix(ctx, scope: cst.Module | cst.FunctionDef, reported: Draw, recorded: list[Draw]) -> Fix | str:
    """Split `reported`'s key once before the first draw of its value, giving each draw its own
    key; the key itself is rebound to a fresh one when something reads it afterwards (or the block
    runs again in a loop), so nothing later draws what a draw here drew. Or why not: the draws of
    the value can't all be seen in one block. `recorded` are the draws of the value the walk has
    met so far (through aliases, before a loop, in a loop's header): each must be one the split
    covers, or the split would only add a draw beside them."""
    name = reported.name
    if "[" in name:
        return f"`{name}` is one element of a key array; which keys to split it into is left to you"
    if reported.per_element:
        return "giving each element its own key changes what the comprehension iterates over"
    if name in declared_outer(scope):
        # The walker tracks only the scope's own parameters and bindings; these may be another's.
        return f"`{name}` is declared `global` or `nonlocal`"
    if _aliased(scope, name):
        return f"another name is bound to `{name}`, and its draws would keep the old key"
    statement = _statement_of(ctx, reported.call)
    block = ctx.parent(statement) if statement is not None else None
    statements = list(block_statements(block)) if block is not None else []
    if statement not in statements:
        return "it is drawn in a compound statement's header or a one-line block"
    segment, cutoff = _segment(ctx, statements, statements.index(statement), name)
    draws = [(s, d) for s in segment for d in draws_in(ctx, s, {name}) if d.name == name]
    if any(d.per_element for _, d in draws):
        return f"`{name}` is also drawn in a comprehension, once per element"
    covered = {id(d.key) for _, d in draws}
    outside = next((d for d in recorded if id(d.key) not in covered), None)
    if outside is not None:
        line = ctx.lines.position(ctx.span(outside.call)[0]).row
        return f"`{name}` is also drawn outside this block (`{ctx.snippet(outside.call)}`, line {line})"
    if _read_in_a_branch(segment, name):
        return f"`{name}` is also read in a branch or loop among the draws, which may or may not run"
    reads = _reads(ctx, scope, name)
    if reads is None:
        return f"a function or class defined here reads `{name}` whenever it runs"
    first = ctx.span(draws[0][0])[0]  # where the split goes: reads from there on see its result
    drawn = {id(d.key) for _, d in draws}
    read_later = any(first <= ctx.span(n)[0] < cutoff and id(n) not in drawn for n in reads)
    repeats = segment[0] is statements[0] and _in_a_loop(ctx, block, scope)
    if len(draws) < 2 and not (read_later or repeats):
        return f"the other draw from `{name}` is not in this block"
    return _fix(ctx, name, draws, read_later or repeats)


def _aliased(scope, name: str) -> bool:
    """`k = key` somewhere in the scope: draws from `k` are draws from the same key."""
    found = False

    class Aliases(cst.CSTVisitor):
        def visit_Assign(self, node: cst.Assign) -> None:
            nonlocal found
            found = found or isinstance(node.value, cst.Name) and node.value.value == name

    walk(scope, Aliases())
    return found


def _statement_of(ctx, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
    """The simple statement `node` is in, when it is one directly in a block (not a compound
    statement's header, not a one-line suite)."""
    for ancestor in ctx.ancestors(node):
        if isinstance(ancestor, cst.SimpleStatementLine):
            return ancestor
        if isinstance(ancestor, (cst.BaseCompoundStatement, cst.Lambda)):
            return None
    return None


def _segment(ctx, statements, at: int, name: str) -> tuple[list[cst.BaseStatement], float]:
    """The statements of the block that see the value `statements[at]` draws from: back to the last
    statement binding `name`, on to the next (included when it reads the value: `key, sub =
    split(key)`). With the offset from which reads see another value (infinite when the next
    binding is conditional, or there is none)."""
    start = at
    while start > 0 and not _binds(statements[start - 1], name):
        start -= 1
    end, cutoff = at, float("inf")
    while not _binds(statements[end], name) and end + 1 < len(statements):
        end += 1
    if _binds(statements[end], name):
        binding = statements[end]
        if isinstance(binding, cst.SimpleStatementLine):
            cutoff = ctx.span(binding)[1]
        if not (isinstance(binding, cst.SimpleStatementLine) and names_in(binding).reads(name)):
            end -= 1
    return list(statements[start : end + 1]), cutoff


def _binds(statement: cst.BaseStatement, name: str) -> bool:
    return name in names_in(statement).bound


def _read_in_a_branch(segment, name: str) -> bool:
    """A compound statement among the draws reads the key: a draw there may or may not happen."""
    return any(not isinstance(s, cst.SimpleStatementLine) and names_in(s).reads(name) for s in segment)


def _reads(ctx, scope, name: str) -> list[cst.Name] | None:
    """The scope's reads of `name` (comprehensions included), or None when a function or class
    defined in the scope reads it: it reads whatever value is bound when it runs."""
    closure = False

    class Reads(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return self.nested(node)

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return self.nested(node)

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            nonlocal closure
            closure = closure or names_in(node.body).reads(name)
            return False

        def nested(self, node) -> bool:
            nonlocal closure
            if node is scope:
                return True
            own = set(param_names(node)) | names_in(node.body).bound
            closure = closure or (name not in own and names_in(node.body).reads(name))
            return False

    body = scope.body if isinstance(scope, cst.FunctionDef) else scope
    walk(body, Reads())
    if closure:
        return None
    nested = (cst.FunctionDef, cst.Lambda, cst.ClassDef)
    return [n for n in names_in(body).loads_of(name) if not any(isinstance(a, nested) for a in ctx.ancestors_within(n, body))]


def _in_a_loop(ctx, block: cst.CSTNode, scope) -> bool:
    return any(isinstance(a, LOOPS) for a in ctx.ancestors_within(block, scope))


def _fix(ctx, name: str, draws: list[tuple[cst.BaseStatement, Draw]], rebind: bool) -> Fix:
    taken = set(ctx.index.names)
    keys = [fresh(taken, f"{name}{i}") for i in range(1, len(draws) + 1)]
    targets = ([name] if rebind else []) + keys
    split, imports = ctx.name_for(SPLIT)
    count = "" if len(targets) == 2 else f", {len(targets)}"
    first_statement = draws[0][0]
    indent = ctx.indent_of(first_statement)
    line_start = ctx.span(first_statement)[0] - len(indent)
    inserted = Edit(line_start, line_start, f"{indent}{', '.join(targets)} = {split}({name}{count})\n")
    replaced = [ctx.replace(d.key, key) for (_, d), key in zip(draws, keys)]
    kept = f", and `{name}` rebound to a fresh key for what follows" if rebind else ""
    message = f"Split `{name}` into {len(keys)} key{'s' if len(keys) > 1 else ''}, one for each draw{kept}"
    return Fix(Safety.UNSAFE, message, (*imports, inserted, *replaced))
