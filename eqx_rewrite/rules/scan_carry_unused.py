from __future__ import annotations

from typing import Iterator

import libcst as cst

from ..rule import Finding, Fix, Rule, Safety, register
from ._names import block_statements, function_names, names_in, positional_params
from ._calls import argument

SCAN = "jax.lax.scan"


@register
class ScanCarryUnused(Rule):
    """## What it does
    Finds a `jax.lax.scan` whose body function never reads its carry but reads the closed-over
    variable that was passed as the scan's `init`.

    ## Why is this bad?
    Every step then computes from the same initial value instead of the previous step's result, so
    the steps are not chained. With scan-over-layers this applies each layer to the *input* and keeps
    only the last layer's output. Shapes still line up, so nothing fails: the numbers are just wrong.
    Equinox's own Tricks page carried this bug from v0.10.2 until v0.11.1; code copied from it was off
    by 0.8-8 in our measurements.

    ## Example
    ```python
    def f(_x, _dynamic):
        mlp = eqx.combine(_dynamic, static)
        return mlp(x), None

    out, _ = jax.lax.scan(f, x, dynamic)
    ```

    ## Use instead
    ```python
    def f(_x, _dynamic):
        mlp = eqx.combine(_dynamic, static)
        return mlp(_x), None
    ```

    ## Fix safety
    Unsafe: the fix changes what the program computes, on purpose (that is the bug it fixes). Review
    the numbers after applying it. When the body function is also used elsewhere, no fix is offered.

    ## Verification
    Run the model before and after: outputs differ (they are now chained). Tests comparing against
    stored outputs of the buggy version need new reference values.
    """

    code = "EQX006"
    name = "scan-carry-unused"
    summary = "`lax.scan` body ignores its carry and reads the closed-over init instead"
    needles = (r"\bscan\b",)

    @staticmethod
    def candidate(f) -> bool:
        return f.calls_scan_ignoring_carry

    def check(self, ctx) -> Iterator[Finding]:
        for call in ctx.index.calls_to(SCAN):
            body_arg, init_arg = argument(call, 0, "f"), argument(call, 1, "init")
            if not isinstance(init_arg, cst.Name) or body_arg is None:
                continue
            body = _body_function(ctx, call, body_arg)
            if body is None:
                continue
            finding = _check_body(ctx, call, body_arg, body, init_arg.value)
            if finding is not None:
                yield finding


def _body_function(ctx, call: cst.Call, body_arg: cst.BaseExpression) -> cst.FunctionDef | cst.Lambda | None:
    if isinstance(body_arg, cst.Lambda):
        return body_arg
    if not isinstance(body_arg, cst.Name):
        return None
    for ancestor in ctx.ancestors(call):
        defs = [
            s for s in block_statements(ancestor) if isinstance(s, cst.FunctionDef) and s.name.value == body_arg.value
        ]
        if defs:
            return defs[-1]
    return None


def _check_body(ctx, call, body_arg, body, init: str) -> Finding | None:
    params = positional_params(body)
    if len(params) < 2:
        return None
    carry = params[0].name.value
    names = function_names(body)
    if names.reads(carry) or init in names.bound or not names.reads(init):
        return None
    fn_label = f"`{body.name.value}`" if isinstance(body, cst.FunctionDef) else "the lambda"
    message = (
        f"scan body {fn_label} never reads its carry `{carry}` but reads `{init}`, the scan's init: "
        "every step starts from the same value, so the steps are not chained"
    )
    if isinstance(body, cst.FunctionDef) and _used_elsewhere(ctx, body.name.value, body_arg):
        return ctx.finding(body, message + " (no fix: the body function is used elsewhere too)")
    edits = tuple(ctx.replace(load, carry) for load in names.loads_of(init))
    fix = Fix(Safety.UNSAFE, f"Read the carry `{carry}` instead of `{init}` (changes the result)", edits)
    return ctx.finding(body, message, fix)


def _used_elsewhere(ctx, name: str, use: cst.Name) -> bool:
    return any(n is not use for n in ctx.once(_loads_by_name, ctx.module).get(name, ()))


def _loads_by_name(module: cst.Module) -> dict[str, list[cst.Name]]:
    loads: dict[str, list[cst.Name]] = {}
    for load in names_in(module).loads:
        loads.setdefault(load.value, []).append(load)
    return loads
