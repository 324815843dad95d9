"""EQX002's fix: a loop that keeps its state flat, and the `<step>_flat` variant it calls.

The variant keeps the step's parameter names, kinds and defaults, and takes the treedefs first, so
every call form that worked before still binds the same values, and `static_argnames`/
`donate_argnames` still name what they named. Calls are rewritten as expressions (libcst nodes),
never by splicing text, so tuple, dict and keyword arguments keep their form.
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ..rule import Edit, Fix, Safety
from ..walk import walk
from ._names import all_params, fresh, names_in, target_name_nodes
from ._scopes import Scope

FILTER_JIT = "equinox.filter_jit"
JAX_JIT = "jax.jit"
ARGNUMS = ("static_argnums", "donate_argnums")
# jax.jit options that mean the same on the variant once argnums are shifted by one.
PORTABLE_JAX_OPTIONS = frozenset({*ARGNUMS, "static_argnames", "donate_argnames", "inline", "backend", "device", "keep_unused"})
MARKER = "(eqx-rewrite EQX002)"
Path = tuple[int, ...]  # an index path into the step's result; () is the whole result


@dataclass
class Jitted:
    name: str
    function: cst.FunctionDef  # the Python function that is compiled
    anchor: cst.CSTNode  # the statement after which the flat variant goes
    scope: Scope  # the scope that binds `name`
    kind: str  # FILTER_JIT or JAX_JIT
    options: list[cst.Arg]  # the keyword arguments given to the jit


@dataclass
class StepCall:
    assign: cst.Assign
    call: cst.Call
    loop: cst.For | cst.While
    scope: Scope  # the scope the loop runs in
    jitted: Jitted
    carried: list[str]


def unsupported_jit_options(jitted: Jitted) -> str | None:
    if jitted.kind != JAX_JIT:
        return None
    for option in jitted.options:
        key = option.keyword.value
        if key not in PORTABLE_JAX_OPTIONS:
            return f"the `jax.jit` option `{key}` cannot be carried over to a flat variant"
        if key in ARGNUMS and argnums(option.value) is None:
            return "the `jax.jit` arguments cannot be renumbered for the flat variant"
        if key == "static_argnames" and string_names(option.value) is None:
            return "the `jax.jit` `static_argnames` are not string literals"
    return None


def argnums(node: cst.BaseExpression) -> list[int] | None:
    if isinstance(node, cst.Integer):
        return [int(node.value)]
    if isinstance(node, (cst.Tuple, cst.List)) and all(isinstance(e.value, cst.Integer) for e in node.elements):
        return [int(e.value.value) for e in node.elements]
    return None


def flat_loop_fix(ctx, step: StepCall) -> Fix | str:
    """The fix, or why none can be made."""
    layout = _layout(step)
    if isinstance(layout, str):
        return layout
    params, paths = layout
    lib = ctx.library()
    spelled = {q: lib(q) for q in ("jax.tree_util.tree_flatten", "jax.tree_util.tree_unflatten")}
    clash = _clash(step, spelled)
    if clash:
        return clash
    taken = set(ctx.index.names)
    flat = {c: fresh(taken, f"flat_{c}") for c in step.carried}
    treedef = {c: fresh(taken, f"treedef_{c}") for c in step.carried}
    variant, variant_edit = _variant(ctx, step, params, paths, lib, spelled, taken)
    # The state as the original code saw it: every read of it in the loop, and its value after.
    unflattened = {c: f"{spelled['jax.tree_util.tree_unflatten']}({treedef[c]}, {flat[c]})" for c in step.carried}
    loop_edits = [_call_edit(ctx, step, flat, treedef, unflattened, variant)]
    loop_edits += _read_edits(ctx, step, unflattened)
    flatten = [f"{flat[c]}, {treedef[c]} = {spelled['jax.tree_util.tree_flatten']}({c})" for c in step.carried]
    unflatten = [f"{c} = {unflattened[c]}" for c in step.carried]
    loop_edit = _loop_edit(ctx, step, loop_edits, flatten, unflatten)
    if isinstance(loop_edit, str):
        return loop_edit
    edits = [*loop_edit, *([variant_edit] if variant_edit else []), *lib.edits]
    return Fix(Safety.SAFE, f"Run the loop on flattened leaves through a generated `{variant}`", tuple(edits))


# --- how the call binds the state ---------------------------------------------------------------


def _layout(step: StepCall) -> tuple[dict[str, str], dict[str, Path]] | str:
    """For each carried name, the step parameter it is bound to and where the result holds it."""
    params = _bound_parameters(step)
    if isinstance(params, str):
        return params
    target = step.assign.targets[0].target
    paths: dict[str, Path] = {}
    for name, path in _target_paths(target, ()):
        if name is None:
            return "the call's result is unpacked with `*`"
        if name in step.carried:
            paths[name] = path
    return params, paths


def _bound_parameters(step: StepCall) -> dict[str, str] | str:
    fn = step.jitted.function.params
    positional = [p.name.value for p in (*fn.posonly_params, *fn.params)]
    keyword = {p.name.value for p in (*fn.params, *fn.kwonly_params)}
    bound: dict[str, str] = {}
    position, after_star = 0, False
    for arg in step.call.args:
        name = arg.value.value if isinstance(arg.value, cst.Name) else None
        if arg.star:
            after_star = True
            continue
        if arg.keyword is None:
            if name in step.carried:
                if after_star or position >= len(positional):
                    return f"`{name}` is passed where the step's parameter cannot be told (after `*` or into `*args`)"
                bound[name] = positional[position]
            position += 1
        elif name in step.carried:
            if arg.keyword.value not in keyword:
                return f"`{name}` is passed into the step's `**kwargs`"
            bound[name] = arg.keyword.value
    return bound


def _target_paths(target: cst.BaseExpression, path: Path):
    """(name or None for a starred element, path) for each name of an assignment target."""
    if isinstance(target, (cst.Tuple, cst.List)):
        for i, element in enumerate(target.elements):
            if isinstance(element, cst.StarredElement):
                yield None, path
            else:
                yield from _target_paths(element.value, (*path, i))
    elif isinstance(target, cst.Name):
        yield target.value, path


def _clash(step: StepCall, spelled: dict[str, str]) -> str | None:
    """A parameter of the step that would shadow a name the variant's body needs."""
    fn = step.jitted.function
    heads = {s.partition(".")[0] for s in spelled.values()} | {step.jitted.name}
    names = {p.name.value for p in all_params(fn.params)}
    shadowed = heads & names
    return f"the step's parameter `{sorted(shadowed)[0]}` would shadow a name its flat variant needs" if shadowed else None


# --- the variant -----------------------------------------------------------------------------


def _variant(ctx, step: StepCall, params: dict[str, str], paths: dict[str, Path], lib, spelled, taken: set[str]):
    """(the variant's name, the edit that defines it, or None when an identical one already stands)."""
    base = f"{step.jitted.name}_flat"
    candidates = [base] + [f"{base}{n}" for n in range(2, 100)]
    existing = ctx.once(_existing_variants, ctx, step.jitted.scope)
    for name in candidates:
        code = _variant_code(ctx, step, name, params, paths, lib, spelled)
        rendered = ctx.render(code, step.jitted.anchor)
        if name in existing:
            if _same_code(_text_with_decorators(ctx, existing[name]), rendered):
                return name, None
            continue
        if name in taken:
            continue
        taken.add(name)
        return name, ctx.insert_after(step.jitted.anchor, rendered)
    raise AssertionError("no free name for a flat variant")


def _existing_variants(ctx, scope: Scope) -> dict[str, cst.FunctionDef]:
    """Variants this rule generated before, in the scope that binds the step: the same for every
    step of that scope."""
    found = {}
    for name, sites in scope.bindings.items():
        for site in sites:
            if isinstance(site, cst.FunctionDef) and MARKER in ctx.text(site):
                found[name] = site
    return found


def _text_with_decorators(ctx, fn: cst.FunctionDef) -> str:
    """A def's source from its first decorator (a FunctionDef's own span starts at `def`)."""
    start = ctx.span(fn.decorators[0])[0] if fn.decorators else ctx.span(fn)[0]
    return ctx.source[start : ctx.span(fn)[1]]


def _same_code(a: str, b: str) -> bool:
    def normal(text: str) -> list[str]:
        return [line.strip() for line in text.splitlines() if line.strip()]

    return normal(a) == normal(b)


def _variant_code(ctx, step: StepCall, name: str, params: dict[str, str], paths: dict[str, Path], lib, spelled) -> str:
    jitted = step.jitted
    fn = jitted.function
    used = {p.name.value for p in all_params(fn.params)}
    treedefs = fresh(used, "treedefs")
    results = fresh(used, "results")
    carried = step.carried
    new_treedef = {c: fresh(used, f"treedef_{params[c]}") for c in carried}
    lines = [f"def {name}({_signature(fn.params, treedefs)}):"]
    lines.append(f'    """`{jitted.name}` on flattened state, for a loop that keeps its state flat {MARKER}."""')
    for i, c in enumerate(carried):
        lines.append(f"    {params[c]} = {spelled['jax.tree_util.tree_unflatten']}({treedefs}[{i}], {params[c]})")
    lines.append(f"    {results} = {jitted.name}({_pass_through(fn.params)})")
    for c in carried:
        lines.append(f"    {params[c]}, {new_treedef[c]} = {spelled['jax.tree_util.tree_flatten']}({results}{_index(paths[c])})")
    order = [new_treedef[c] for c in carried]
    lines.append(f"    if {_tuple(order)} != {treedefs}:")
    lines.append(f'        raise ValueError("`{jitted.name}` changed the structure of its state; it cannot run on flattened leaves")')
    by_path = {paths[c]: params[c] for c in carried}
    lines.append(f"    return {_rebuilt(step.assign.targets[0].target, (), by_path, results)}")
    return _decorator(ctx, jitted, lib) + "\n" + "\n".join(lines)


def _signature(params: cst.Parameters, treedefs: str) -> str:
    """The step's parameters without annotations (the carried ones now hold leaf lists, and an
    import-hook type checker would reject them), with the treedefs first."""
    stripped = params.visit(_StripAnnotations())
    first = cst.Param(cst.Name(treedefs))
    if stripped.posonly_params:
        stripped = stripped.with_changes(posonly_params=[first, *stripped.posonly_params])
    else:
        stripped = stripped.with_changes(params=[first, *stripped.params])
    return cst.Module([]).code_for_node(stripped)


class _StripAnnotations(cst.CSTTransformer):
    def leave_Param(self, original: cst.Param, updated: cst.Param) -> cst.Param:
        return updated.with_changes(annotation=None)


def _pass_through(params: cst.Parameters) -> str:
    args = [p.name.value for p in (*params.posonly_params, *params.params)]
    if isinstance(params.star_arg, cst.Param):
        args.append(f"*{params.star_arg.name.value}")
    args += [f"{p.name.value}={p.name.value}" for p in params.kwonly_params]
    if isinstance(params.star_kwarg, cst.Param):
        args.append(f"**{params.star_kwarg.name.value}")
    return ", ".join(args)


def _tuple(parts: list[str]) -> str:
    """A tuple display, without the trailing comma that would make black explode it."""
    return "(" + ", ".join(parts) + ("," if len(parts) == 1 else "") + ")"


def _index(path: Path) -> str:
    return "".join(f"[{i}]" for i in path)


def _rebuilt(target: cst.BaseExpression, path: Path, by_path: dict[Path, str], results: str) -> str:
    """The step's result with each carried part replaced by its flat leaves, shaped as the loop's
    assignment target unpacks it."""
    if path in by_path:
        return by_path[path]
    if isinstance(target, (cst.Tuple, cst.List)) and any(p[: len(path)] == path for p in by_path):
        return _tuple([_rebuilt(e.value, (*path, i), by_path, results) for i, e in enumerate(target.elements)])
    return results + _index(path)


def _decorator(ctx, jitted: Jitted, lib) -> str:
    if jitted.kind == FILTER_JIT:
        options = ", ".join(ctx.text(a).rstrip(", ") for a in jitted.options)
        return f"@{lib(FILTER_JIT)}" + (f"({options})" if options else "")
    given = {arg.keyword.value: arg for arg in jitted.options}
    static = [0] + [n + 1 for n in _static_positions(jitted, given)]
    options = [f"static_argnums={tuple(static)}"]
    for key, arg in given.items():
        if key == "donate_argnums":
            options.append(f"{key}={tuple(n + 1 for n in argnums(arg.value))}")
        elif key != "static_argnums":
            options.append(ctx.text(arg).rstrip(", "))
    return f"@{lib('functools.partial')}({lib(JAX_JIT)}, {', '.join(options)})"


def _static_positions(jitted: Jitted, given: dict[str, cst.Arg]) -> list[int]:
    """The step's static positions. The variant always names `static_argnums` (its treedefs), and
    jax infers positions from `static_argnames` only when `static_argnums` is not given: so a step
    given only names has their positions spelled out, or a name passed by position would be traced."""
    numbers = argnums(given["static_argnums"].value) if "static_argnums" in given else []
    if "static_argnames" not in given or "static_argnums" in given:
        return numbers
    names = string_names(given["static_argnames"].value)
    positional = [p.name.value for p in (*jitted.function.params.posonly_params, *jitted.function.params.params)]
    return [positional.index(n) for n in names if n in positional]


def string_names(node: cst.BaseExpression) -> list[str] | None:
    """The names of a string literal or a tuple/list of them; None for anything else."""
    elements = node.elements if isinstance(node, (cst.Tuple, cst.List)) else [node]
    values = [e.value if isinstance(e, cst.BaseElement) else e for e in elements]
    if not all(isinstance(v, cst.SimpleString) for v in values):
        return None
    return [v.evaluated_value for v in values]


# --- the loop ---------------------------------------------------------------------------------


class _Replace(cst.CSTTransformer):
    """Replace Name nodes (by identity) with the given expressions."""

    def __init__(self, replacements: dict[int, cst.BaseExpression]):
        self.replacements = replacements

    def leave_Name(self, original: cst.Name, updated: cst.Name) -> cst.BaseExpression:
        return self.replacements.get(id(original), updated)


def _call_edit(ctx, step: StepCall, flat, treedef, unflattened: dict[str, str], variant: str) -> Edit:
    """`targets = step(args)` -> `flat targets = step_flat(treedefs, args with flat state)`: the
    carried arguments take the flat leaves, other reads of the state in the call read it unflattened."""
    carried = set(step.carried)
    replacements: dict[int, cst.BaseExpression] = {}
    state_args = {id(a.value) for a in step.call.args if isinstance(a.value, cst.Name) and a.value.value in carried and not a.star}
    for name in names_in(step.call).loads:
        if name.value in carried:
            replacements[id(name)] = cst.Name(flat[name.value]) if id(name) in state_args else cst.parse_expression(unflattened[name.value])
    for name in target_name_nodes(step.assign.targets[0].target):
        if name.value in carried:
            replacements[id(name)] = cst.Name(flat[name.value])
    call = step.call.visit(_Replace(replacements))
    treedefs = cst.parse_expression(_tuple([treedef[c] for c in step.carried]))
    call = call.with_changes(func=cst.Name(variant), args=[cst.Arg(treedefs), *call.args])
    target = step.assign.targets[0].target.visit(_Replace(replacements))
    text = cst.Module([]).code_for_node(cst.Assign([cst.AssignTarget(target)], call))
    return ctx.replace(step.assign, ctx.render(text, ctx.parent(step.assign)))


def _read_edits(ctx, step: StepCall, unflattened: dict[str, str]) -> list[Edit]:
    """Other reads of the state in the loop read it unflattened."""
    reads = [
        load
        for load in step.scope.loads
        if load.value in step.carried and ctx.is_inside(load, step.loop) and not ctx.is_inside(load, step.assign)
    ]
    return ctx.rewrite_expressions([(n, unflattened[n.value]) for n in reads])


def _loop_edit(ctx, step: StepCall, inner: list[Edit], flatten: list[str], unflatten: list[str]) -> list[Edit] | str:
    """Flatten before the loop, unflatten after it. A loop an interrupt or exception may leave while
    its state is still read afterwards (at module level: a notebook, an interactive session; or inside
    a `try`/`with`) unflattens in a `finally`."""
    indent = ctx.indent_of(step.loop)
    start = ctx.span(step.loop)[0]
    end = ctx.line_end(ctx.span(step.loop)[1])
    if not _may_be_interrupted_and_read(ctx, step):
        return [
            Edit(start, start, "".join(line + "\n" + indent for line in flatten)),
            *inner,
            Edit(end, end, "".join("\n" + indent + line for line in unflatten)),
        ]
    strings = [ctx.span(n) for n in _multiline_strings(step.loop)]
    if any(a < e.end and e.start < b for a, b in strings for e in inner):
        return "the loop would have to be indented into a `try`, and a statement the fix rewrites holds a multi-line string"
    unit = _indent_unit(ctx, step.loop, indent)
    body = _apply_within(ctx.source, start, end, inner)
    inside = _lines_inside_strings(body, [(_shifted(a, inner) - start, _shifted(b, inner) - start) for a, b in strings])
    lines = body.splitlines(keepends=True)
    indented = lines[0] + "".join(line if not line.strip() or i in inside else unit + line for i, line in enumerate(lines[1:], 1))
    text = "".join(line + "\n" + indent for line in flatten) + "try:\n" + indent + unit + indented
    text += "\n" + indent + "finally:" + "".join("\n" + indent + unit + line for line in unflatten)
    return [Edit(start, end, text)]


def _may_be_interrupted_and_read(ctx, step: StepCall) -> bool:
    if step.scope.parent is None:
        return True
    for ancestor in ctx.ancestors(step.loop):
        if ancestor is step.scope.node:
            return False
        if isinstance(ancestor, (cst.Try, cst.TryStar, cst.With)):
            return True
    return False


def _multiline_strings(node: cst.CSTNode) -> list[cst.CSTNode]:
    """Strings spanning lines: their inner lines are text, which indenting the loop must not touch."""
    found = []

    class Find(cst.CSTVisitor):
        def visit_SimpleString(self, n: cst.SimpleString) -> None:
            if "\n" in n.value:
                found.append(n)

        def visit_FormattedString(self, n: cst.FormattedString) -> bool:
            if "\n" in cst.Module([]).code_for_node(n):
                found.append(n)
            return False

    walk(node, Find())
    return found


def _shifted(offset: int, edits: list[Edit]) -> int:
    """Where a source offset lands once `edits` (none overlapping it) are applied."""
    return offset + sum(len(e.content) - (e.end - e.start) for e in edits if e.end <= offset)


def _lines_inside_strings(text: str, spans: list[tuple[int, int]]) -> set[int]:
    """Indices of the lines of `text` that begin inside one of the spans."""
    starts = [0] + [i + 1 for i, c in enumerate(text) if c == "\n"]
    return {n for n, line_start in enumerate(starts) if any(a < line_start < b for a, b in spans)}


def _indent_unit(ctx, loop: cst.CSTNode, indent: str) -> str:
    body = loop.body
    if isinstance(body, cst.IndentedBlock) and body.body:
        inner = ctx.indent_of(body.body[0])
        if inner.startswith(indent) and len(inner) > len(indent):
            return inner[len(indent) :]
    return "\t" if indent.startswith("\t") else "    "


def _apply_within(source: str, start: int, end: int, edits: list[Edit]) -> str:
    """source[start:end] with `edits` (all inside it) applied."""
    out, cursor = [], start
    for edit in sorted(edits):
        out += [source[cursor : edit.start], edit.content]
        cursor = edit.end
    out.append(source[cursor:end])
    return "".join(out)
