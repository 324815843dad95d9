from __future__ import annotations

from dataclasses import dataclass, field
from typing import Iterator

import libcst as cst

from ..prefilter import KEY_NAME
from ..rule import Finding, Rule, register
from ..walk import walk
from ._key_draws import Draw, draws_in
from ._key_split import split_fix
from ._names import names_in, target_name_nodes

KEY_MAKERS = ("jax.random.PRNGKey", "jax.random.key", "jax.random.split", "jax.random.fold_in", "jax.random.clone")


@dataclass
class Draws:
    """The draws from the current value of one key name."""

    draws: list[Draw] = field(default_factory=list)
    before_loop: bool = False  # bound outside the loop being walked (and not rebound in it yet)


@register
class PrngKeyReuse(Rule):
    """## What it does
    Finds a PRNG key drawn from twice without a `jax.random.split` in between: handed to two
    `jax.random` calls (`jr.normal(key, ...)`, `jr.uniform(key, ...)`, `jr.split(key)`), to two
    Module constructors (`Linear(..., key=key)` twice, by keyword or position), as `key=` to two
    stochastic layers (every block of a loop given `key=key`), to one of each, or drawn on every pass of a loop (or comprehension) without
    being split per pass. Keys are followed through
    tuple unpacking (`k1, k2 = jr.split(key)`), constant indices of split keys (`keys[0]` twice) and
    branches (one draw on each of two exclusive branches is fine; a branch that returns never
    reaches what follows). `key=` handed to a callee seen never to read it is no draw: a function
    of the file, an `eqx.nn` layer that ignores its key (`Linear`, `MLP`, `Conv2d`...), a class of
    the run whose `__call__` never reads `key`, a call with `inference=True`.

    ## Why is this bad?
    JAX's random numbers are a function of the key: the same key gives the same numbers. "Random"
    weights of two layers come out identical, noise is the same at every step, dropout masks repeat.
    Nothing fails; JAX checks this only at run time and only on request (`jax.debug_key_reuse`).
    Almost every new JAX user does this once (jax issue #2009).

    ## Example
    ```python
    def init(key):
        w = jax.random.normal(key, (3, 3))
        b = jax.random.normal(key, (3,))  # the same numbers as w's first row
        return w, b
    ```

    ## Use instead
    ```python
    def init(key):
        w_key, b_key = jax.random.split(key)
        w = jax.random.normal(w_key, (3, 3))
        b = jax.random.normal(b_key, (3,))
        return w, b
    ```

    ## Fix safety
    Unsafe: splitting the key changes the numbers drawn (that is the point), and which draws
    should differ is the author's call. The fix splits the key once, right before the first draw,
    into one key per draw (`key1, key2 = jax.random.split(key)`); when the key is read afterwards,
    or the draws run on every pass of a loop, the key itself is rebound to a fresh one too
    (`key, key1 = jax.random.split(key)`), so nothing later draws the same numbers. Offered only
    when every draw of the key's value is in a plain statement of one block; reported without a
    fix when a draw is in a branch or a comprehension, a closure reads the key, or the key is a
    constant index of a key array.

    What counts as a key: a name bound from `jax.random.PRNGKey`/`key`/`split`/`fold_in` (or an
    element or constant index of one), or a parameter named like a key (`key`, `rng`, `*_key`)
    that the function draws from. Handing a key on positionally to another function is not a draw
    (the same key to a function and to its gradient is often the point), nor are `fold_in` and
    returning it. Functions and lambdas defined inside are judged on their own.

    ## Verification
    Nothing to verify: the finding says which two draws share a key.
    """

    code = "EQX007"
    name = "prng-key-reuse"
    summary = "a PRNG key drawn from twice without a split in between"
    # Every key is bound from a key maker or named like one (KEY_NAME).
    needles = (r"\b(?:PRNGKey|key|split|fold_in|clone|rng|prng_key|rng_key|\w+_key|key_\w+)\b",)

    @staticmethod
    def candidate(f) -> bool:
        return f.may_reuse_keys

    def check(self, ctx) -> Iterator[Finding]:
        for scope in _scopes(ctx.module):
            walker = _Walker(ctx, scope, _key_params(ctx, scope))
            walker.block(_body(scope))
            yield from walker.findings


def _scopes(module: cst.Module) -> list[cst.Module | cst.FunctionDef]:
    found: list = [module]

    class Functions(cst.CSTVisitor):
        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            found.append(node)

    walk(module, Functions())
    return found


def _body(scope) -> list[cst.BaseStatement]:
    if isinstance(scope, cst.Module):
        return list(scope.body)
    return list(scope.body.body) if isinstance(scope.body, cst.IndentedBlock) else [scope.body]


def _key_params(ctx, scope) -> set[str]:
    """Parameters named like keys that the function hands to `jax.random` or to a `key=`: keys."""
    if isinstance(scope, cst.Module):
        return set()
    params = [p.name.value for p in (*scope.params.posonly_params, *scope.params.params, *scope.params.kwonly_params)]
    named = {p for p in params if KEY_NAME.match(p)}
    used_as_keys: set[str] = set()

    class Uses(cst.CSTVisitor):
        def visit_FunctionDef(self, node) -> bool:
            return node is scope

        def visit_Call(self, node: cst.Call) -> None:
            random = (ctx.index.qualified_name(node.func) or "").startswith("jax.random.")
            for arg in node.args:
                if isinstance(arg.value, cst.Name) and (random or (arg.keyword is not None and arg.keyword.value == "key")):
                    used_as_keys.add(arg.value.value)

    walk(scope, Uses())
    return named & used_as_keys


class _Walker:
    """Walks one scope's statements in order, keeping the draws from each key's current value."""

    def __init__(self, ctx, scope, params: set[str]):
        self.ctx, self.scope = ctx, scope
        self.keys: dict[str, Draws] = {p: Draws() for p in params}
        self.findings: list[Finding] = []
        self.reported: set[int] = set()
        self.template: cst.Call | None = None  # a constructor whose weights the next statement loads

    # --- statements --------------------------------------------------------------------------
    def block(self, statements) -> None:
        statements = list(statements)
        for i, statement in enumerate(statements):
            self.template = _template(self.ctx, statement, statements[i + 1] if i + 1 < len(statements) else None)
            self.statement(statement)
        self.template = None

    def statement(self, node: cst.CSTNode) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self.small(small)
        elif isinstance(node, cst.If):
            self.expression(node.test)
            self.branches([node.body], [node.orelse] if node.orelse else [])
        elif isinstance(node, (cst.For, cst.While)):
            self.loop(node)
        elif isinstance(node, (cst.With, cst.Try)):
            self.compound(node)

    def small(self, node: cst.BaseSmallStatement) -> None:
        if isinstance(node, cst.Assign):
            self.expression(node.value)
            for target in node.targets:
                self.bind(target.target, node.value)
        elif isinstance(node, (cst.AnnAssign, cst.AugAssign)):
            if node.value is not None:
                self.expression(node.value)
            self.bind(node.target, None)
        elif isinstance(node, (cst.Expr, cst.Return)) and node.value is not None:
            self.expression(node.value)
        elif isinstance(node, cst.Del):
            for name in target_name_nodes(node.target):
                self.keys.pop(name.value, None)

    def branches(self, *alternatives) -> None:
        """Exclusive blocks from one state: a key may be drawn once on each."""
        entry = _copied(self.keys)
        results = []
        for blocks in alternatives:
            self.keys = _copied(entry)
            for block in blocks:
                self.block(_statements(block))
            if not (blocks and _leaves(_statements(blocks[-1]))):
                results.append(self.keys)
        # A branch that returns (or continues, breaks, raises) never reaches what follows.
        results = results or [entry]
        names = set.intersection(*(set(r) for r in results))
        self.keys = {n: max((r[n] for r in results), key=lambda d: len(d.draws)) for n in names}

    def loop(self, node: cst.For | cst.While) -> None:
        self.expression(node.iter if isinstance(node, cst.For) else node.test)
        entry = _copied(self.keys)
        outer = {n: Draws(list(d.draws), True) for n, d in entry.items()}
        self.keys = outer
        if isinstance(node, cst.For):
            self.bind(node.target, None)
            if _makes_keys(self.ctx, node.iter, set(entry)) and not isinstance(node.iter, cst.Subscript):
                # one fresh key per pass: an element of a key array
                self.keys.update({n.value: Draws() for n in target_name_nodes(node.target)})
        self.block(_statements(node.body))
        rebound = names_in(node.body).bound
        for name, draws in self.keys.items():
            if draws.before_loop and name not in rebound and len(draws.draws) > len(entry.get(name, Draws()).draws):
                self.report(draws, f"`{name}` is drawn from on every pass of the loop without being split per pass, so every pass draws the same numbers; split it in the loop (`{name}, subkey = jax.random.split({name})`) or split one key per pass before it")
        after = {n: Draws(d.draws, False) for n, d in self.keys.items() if n in entry}
        # A key the loop rebinds (`key, sub = split(key)`) is a fresh one after it, unless the loop
        # ran no pass at all: reporting that case would flag every training loop's key.
        self.keys = {n: after[n] if n in rebound and n in after else max((after.get(n, d), d), key=lambda x: len(x.draws)) for n, d in entry.items()}
        if node.orelse is not None:
            self.block(_statements(node.orelse))

    def compound(self, node) -> None:
        if isinstance(node, cst.Try):
            self.block(_statements(node.body))
            self.branches(*([h.body] for h in node.handlers), [node.orelse] if node.orelse else [])
            if node.finalbody is not None:
                self.block(_statements(node.finalbody.body))
        elif isinstance(node, cst.With):
            for item in node.items:
                self.expression(item.item)
            self.block(_statements(node.body))
        # classes and functions are scopes of their own; `match` is left alone

    # --- expressions -------------------------------------------------------------------------
    def expression(self, node: cst.CSTNode) -> None:
        for draw in draws_in(self.ctx, node, set(self.keys)):
            self.draw(draw)

    def draw(self, draw: Draw) -> None:
        if draw.call is self.template:
            return
        name = draw.name
        base = name.partition("[")[0]
        draws = self.keys.setdefault(name, Draws(before_loop=self.keys[base].before_loop))
        draws.draws.append(draw)
        if draw.per_element:
            self.report(draws, f"`{name}` is drawn from by every element of the comprehension, so all draw the same numbers; split one key per element (`jax.random.split({name}, n)`) and iterate over those")
        elif len(draws.draws) >= 2 and not _dead_split(self.ctx, self.scope, draws.draws[-2], draw):
            first = draws.draws[-2].call
            line = self.ctx.lines.position(self.ctx.span(first)[0]).row
            self.report(
                draws,
                f"`{name}` is drawn from again here after `{self.ctx.snippet(first)}` (line {line}) without a split in between, "
                f"so both draw the same numbers; split it first: `{base}_a, {base}_b = jax.random.split({name})`",
            )

    def report(self, draws: Draws, message: str) -> None:
        draw = draws.draws[-1]
        if id(draw.call) not in self.reported:
            self.reported.add(id(draw.call))
            fix = split_fix(self.ctx, self.scope, draw, draws.draws)
            if isinstance(fix, str):
                self.findings.append(self.ctx.finding(draw.call, f"{message}; no fix: {fix}"))
            else:
                self.findings.append(self.ctx.finding(draw.call, message, fix))

    def bind(self, target: cst.BaseExpression, value: cst.BaseExpression | None) -> None:
        """Names bound anew: fresh keys from a key-making call, an alias sharing a key's draws, or
        no key at all."""
        alias = self.keys.get(value.value) if isinstance(value, cst.Name) else None
        keyed = value is not None and _makes_keys(self.ctx, value, set(self.keys))
        if alias is not None and not isinstance(target, cst.Name):
            # `a, b, c = keys`: the elements of a key array are distinct keys, not aliases of it.
            alias, keyed = None, True
        for name in (n.value for n in target_name_nodes(target)):
            for stale in [k for k in self.keys if k == name or k.startswith(name + "[")]:
                del self.keys[stale]
            if alias is not None:
                self.keys[name] = alias
            elif keyed:
                self.keys[name] = Draws()



def _template(ctx, statement: cst.CSTNode, following: cst.CSTNode | None) -> cst.Call | None:
    """`model = Model(..., key=key)` followed by `model = eqx.tree_deserialise_leaves(path, model)`:
    the constructor only gives the structure, its drawn weights are replaced by the saved ones."""
    built, loaded = _single_assign(statement), _single_assign(following)
    if built is None or loaded is None or not isinstance(built.targets[0].target, cst.Name):
        return None
    ctor, load = built.value, loaded.value
    if ctx.index.constructed_module(ctor) is None or not isinstance(load, cst.Call) or len(load.args) < 2:
        return None
    if ctx.index.qualified_name(load.func) != "equinox.tree_deserialise_leaves":
        return None
    like = load.args[1].value
    return ctor if isinstance(like, cst.Name) and like.value == built.targets[0].target.value else None


def _single_assign(statement: cst.CSTNode | None) -> cst.Assign | None:
    if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 and isinstance(statement.body[0], cst.Assign):
        assign = statement.body[0]
        return assign if len(assign.targets) == 1 else None
    return None


def _dead_split(ctx, scope, split: Draw, draw: Draw) -> bool:
    """`k1, k2 = split(key)` and then `key` drawn in a block that leaves (`return Model(key=key)`)
    with neither `k1` nor `k2` read from the split to the block's end: on this path the split's keys
    are never used, so nothing drawn correlates (a model factory splitting for the branches that
    need two keys, the others handing `key` on)."""
    if ctx.index.qualified_name(split.call.func) != "jax.random.split":
        return False
    assign = next((a for a in ctx.ancestors(split.call) if isinstance(a, (cst.Assign, cst.BaseCompoundStatement))), None)
    block = next((a for a in ctx.ancestors(draw.call) if isinstance(a, cst.IndentedBlock)), None)
    if not isinstance(assign, cst.Assign) or block is None or not _leaves(list(block.body)):
        return False
    names = {n.value for t in assign.targets for n in target_name_nodes(t.target)}
    start, end = ctx.span(assign)[1], ctx.span(block)[1]
    if ctx.span(block)[0] < start:
        return False
    return not any(start <= ctx.span(n)[0] < end for n in ctx.once(names_in, scope).loads if n.value in names)


def _leaves(statements: list[cst.BaseStatement]) -> bool:
    """Whether a block ends by leaving it: `return`, `raise`, `continue` or `break` last."""
    last = statements[-1] if statements else None
    return isinstance(last, cst.SimpleStatementLine) and isinstance(last.body[-1], (cst.Return, cst.Raise, cst.Continue, cst.Break))


def _copied(keys: dict[str, Draws]) -> dict[str, Draws]:
    return {n: Draws(list(d.draws), d.before_loop) for n, d in keys.items()}


def _statements(block) -> list[cst.BaseStatement]:
    if isinstance(block, cst.Else):
        block = block.body
    if isinstance(block, (cst.If,)):
        return [block]
    return list(block.body) if isinstance(block, cst.IndentedBlock) else [block]


def _makes_keys(ctx, value: cst.BaseExpression, keys: set[str]) -> bool:
    """A key-making call, or an element of a key array (`keys[0]`)."""
    if isinstance(value, cst.Call):
        return ctx.index.qualified_name(value.func) in KEY_MAKERS
    if isinstance(value, cst.Subscript):
        return isinstance(value.value, cst.Name) and value.value.value in keys
    return isinstance(value, cst.Name) and value.value in keys
