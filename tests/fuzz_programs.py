"""Generated programs for the differential fix fuzzer: the catalogue's positive shapes, varied along
the axes real code varies (argument forms, readers of the state before, inside and after the loop,
state bundles, jit options, nested and module-level loops, loop exits, keys, zipped data, stateful
layers, CRLF and tabs). Each program defines `run()`; a seed gives the same program every time.
"""

from __future__ import annotations

import random
import textwrap
from dataclasses import dataclass


@dataclass
class Program:
    seed: int
    kind: str
    axes: dict
    source: str


def program(seed: int) -> Program:
    rng = random.Random(seed)
    kind = rng.choice(["EQX002", "EQX002", "EQX001"])
    axes, source = (_step_loop if kind == "EQX002" else _layer_stack)(rng)
    source, axes["layout"] = _layout(rng, source)
    return Program(seed, kind, axes, source)


def _layout(rng, source: str) -> tuple[str, str]:
    layout = rng.choice(["lf", "lf", "crlf", "tabs"])
    if layout == "tabs":
        source = "\n".join(_tabbed(line) for line in source.split("\n"))
    if layout == "crlf":
        source = source.replace("\n", "\r\n")
    return source, layout


def _tabbed(line: str) -> str:
    stripped = line.lstrip(" ")
    return "\t" * ((len(line) - len(stripped)) // 4) + stripped


# --- EQX002: a jitted step in a Python loop ------------------------------------------------------

JITS = ["filter_jit", "filter_jit_donate", "assigned_filter_jit", "jax_jit", "jax_static_argnums", "jax_static_argnames", "jax_donate_argnames"]
STATES = ["pair", "pair_loss_first", "tuple_bundle", "dict_bundle", "namedtuple", "model_only"]
BATCHES = ["name", "tuple_literal", "keyword_tuple", "dict_literal", "two_arrays"]
LOOPS = ["for", "while", "break", "continue", "else", "nested", "try_raise"]
READERS = ["eval_in_loop", "closure_in_loop", "closure_after", "lambda_in_loop", "global_in_loop", "global_after", "read_in_call"]


def _step_loop(rng) -> tuple[dict, str]:
    axes = {
        "jit": rng.choice(JITS),
        "state": rng.choice(STATES),
        "batch": rng.choice(BATCHES),
        "loop": rng.choice(LOOPS),
        "where": rng.choice(["function", "module", "nested_step"]),
        "readers": sorted(rng.sample(READERS, rng.randint(0, 2))),
        "state_by_keyword": rng.random() < 0.25,
    }
    if axes["where"] != "module":
        axes["readers"] = [r for r in axes["readers"] if not r.startswith("global")]
    if axes["state"] == "model_only":
        axes["state_by_keyword"] = False
    return axes, _step_loop_source(axes)


def _step_loop_source(a: dict) -> str:
    state = a["state"]
    names = {"model_only": ["model"], "tuple_bundle": ["state"], "dict_bundle": ["state"], "namedtuple": ["state"]}.get(state, ["model", "opt_state"])
    params = names + (["x", "y"] if a["batch"] == "two_arrays" else ["batch"])
    static = a["jit"] in ("jax_static_argnums", "jax_static_argnames")
    if static:
        params.append("lr")
    body = _step_body(state, a["batch"], static)
    decorator, assigned = _jit(a["jit"], len(params))
    step_def = f"{decorator}def {'_make_step' if assigned else 'make_step'}({', '.join(params)}):\n" + textwrap.indent(body, "    ")
    if assigned:
        step_def += f"\n\n{assigned}\n"
    call = _call(a, names, static)
    loop = _loop(a["loop"], call, a["readers"], state)
    setup = _setup(state)
    result = f"({_model_of(state)}, jnp.stack(history) if history else jnp.zeros(0))"
    readers_before = _readers_before(a["readers"], state)
    after = _readers_after(a["readers"])
    header = HEADER + (NAMEDTUPLE if state == "namedtuple" else "")
    if a["where"] == "module":
        code = "\n".join([setup, "history = []", readers_before, loop, after])
        return f"{header}\n\n{step_def}\n\n{_module_readers(a['readers'], state)}\n{code}\n\n\ndef run():\n    return {result}\n"
    inner = step_def if a["where"] == "nested_step" else ""
    code = "\n".join([setup, inner, "history = []", readers_before, loop, after, f"return {result}"])
    outer = "" if a["where"] == "nested_step" else step_def
    return f"{header}\n\n{outer}\n\ndef run():\n{textwrap.indent(code, '    ')}\n"


HEADER = """\
import functools
from typing import NamedTuple

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax

optim = optax.sgd(0.1, momentum=0.9)


class StopTraining(Exception):
    pass


def evaluate(model, x):
    return jnp.sum(model(x) ** 2)
"""

NAMEDTUPLE = """

class State(NamedTuple):
    model: eqx.nn.Linear
    opt_state: optax.OptState
"""


def _jit(kind: str, arity: int) -> tuple[str, str | None]:
    """(decorator, or the assignment that jits `_make_step` instead)."""
    return {
        "filter_jit": ("@eqx.filter_jit\n", None),
        "filter_jit_donate": ('@eqx.filter_jit(donate="none")\n', None),
        "assigned_filter_jit": ("", "make_step = eqx.filter_jit(_make_step)"),
        "jax_jit": ("@jax.jit\n", None),
        "jax_static_argnums": (f"@functools.partial(jax.jit, static_argnums=({arity - 1},))\n", None),
        "jax_static_argnames": ('@functools.partial(jax.jit, static_argnames=("lr",))\n', None),
        "jax_donate_argnames": ("", "make_step = jax.jit(_make_step, donate_argnums=(0,))"),
    }[kind]


def _step_body(state: str, batch: str, static: bool) -> str:
    unpack = {
        "name": "x, y = batch",
        "tuple_literal": "x, y = batch",
        "keyword_tuple": "x, y = batch",
        "dict_literal": 'x, y = batch["x"], batch["y"]',
        "two_arrays": "",
    }[batch]
    lr = "lr" if static else "0.1"
    get = {
        "tuple_bundle": "model, opt_state = state",
        "dict_bundle": 'model, opt_state = state["model"], state["opt"]',
        "namedtuple": "model, opt_state = state",
    }.get(state, "")
    update = (
        "loss, grads = eqx.filter_value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)\n"
        + (
            f"model = jax.tree_util.tree_map(lambda p, g: p - {lr} * g, model, grads)\n"
            if state == "model_only"
            else f"updates, opt_state = optim.update(grads, opt_state)\nupdates = jax.tree_util.tree_map(lambda u: u * {lr} * 10, updates)\nmodel = eqx.apply_updates(model, updates)\n"
        )
    )
    ret = {
        "pair": "return model, opt_state, loss",
        "pair_loss_first": "return loss, model, opt_state",
        "tuple_bundle": "return (model, opt_state), loss",
        "dict_bundle": 'return {"model": model, "opt": opt_state}, loss',
        "namedtuple": "return State(model, opt_state), loss",
        "model_only": "return model",
    }[state]
    return "\n".join(part for part in [unpack, get, update.rstrip(), ret] if part) + "\n"


def _call(a: dict, names: list[str], static: bool) -> str:
    state = a["state"]
    if a["state_by_keyword"]:
        args = [names[0]] + [f"{n}={n}" for n in names[1:]] if len(names) > 1 else [f"{names[0]}={names[0]}"]
    else:
        args = list(names)
    batch = {
        "name": "batch",
        "tuple_literal": "(x, y)",
        "keyword_tuple": "batch=(x, y)",
        "dict_literal": '{"x": x, "y": y}',
        "two_arrays": "x, y",
    }[a["batch"]]
    if a["state_by_keyword"] and not batch.startswith("batch="):
        batch = {"two_arrays": "x=x, y=y"}.get(a["batch"], f"batch={batch}")
    if "read_in_call" in a["readers"] and a["batch"] == "two_arrays" and not a["state_by_keyword"]:
        batch = f"x + 0.0 * evaluate({_model_of(state)}, x), y"
    args.append(batch)
    if static:
        args.append("lr=0.1" if "=" in batch or a["state_by_keyword"] else "0.1")
    targets = {
        "pair": "model, opt_state, loss",
        "pair_loss_first": "loss, model, opt_state",
        "tuple_bundle": "state, loss",
        "dict_bundle": "state, loss",
        "namedtuple": "state, loss",
        "model_only": "model",
    }[state]
    return f"{targets} = make_step({', '.join(args)})"


def _model_of(state: str) -> str:
    return {"tuple_bundle": "state[0]", "dict_bundle": 'state["model"]', "namedtuple": "state.model"}.get(state, "model")


def _setup(state: str) -> str:
    lines = [
        "model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))",
        "opt_state = optim.init(eqx.filter(model, eqx.is_array))",
        "x, y = jnp.array([1.0, 2.0]), jnp.array([0.5, -0.5])",
        "batch = (x, y)",
    ]
    bundle = {"tuple_bundle": "state = (model, opt_state)", "dict_bundle": 'state = {"model": model, "opt": opt_state}', "namedtuple": "state = State(model, opt_state)"}
    if state in bundle:
        lines.append(bundle[state])
    return "\n".join(lines)


def _readers_before(readers: list[str], state: str) -> str:
    lines = []
    if "closure_in_loop" in readers or "closure_after" in readers:
        lines += ["def metric():", f"    return evaluate({_model_of(state)}, x)"]
    if "lambda_in_loop" in readers:
        lines.append(f"score = lambda: evaluate({_model_of(state)}, x)")
    return "\n".join(lines)


def _module_readers(readers: list[str], state: str) -> str:
    if "global_in_loop" in readers or "global_after" in readers:
        return f"def global_metric():\n    return evaluate({_model_of(state)}, x)\n\n"
    return ""


def _in_loop_reads(readers: list[str], state: str) -> list[str]:
    lines = []
    if "eval_in_loop" in readers:
        lines.append(f"history.append(evaluate({_model_of(state)}, x))")
    if "closure_in_loop" in readers:
        lines.append("history.append(metric())")
    if "lambda_in_loop" in readers:
        lines.append("history.append(score())")
    if "global_in_loop" in readers:
        lines.append("history.append(global_metric())")
    return lines


def _readers_after(readers: list[str]) -> str:
    lines = []
    if "closure_after" in readers:
        lines.append("history.append(metric())")
    if "global_after" in readers:
        lines.append("history.append(global_metric())")
    return "\n".join(lines)


def _loop(kind: str, call: str, readers: list[str], state: str) -> str:
    reads = _in_loop_reads(readers, state)
    body = [call] + reads

    def block(lines, indent="    "):
        return "\n".join(indent + line for line in lines)

    if kind == "for":
        return "for i in range(4):\n" + block(body)
    if kind == "while":
        return "i = 0\nwhile i < 4:\n" + block(body + ["i += 1"])
    if kind == "break":
        return "for i in range(10):\n" + block(body + ["if i == 2:", "    break"])
    if kind == "continue":
        return "for i in range(5):\n" + block(["if i == 1:", "    continue"] + body)
    if kind == "else":
        return "for i in range(3):\n" + block(body) + "\nelse:\n    history.append(jnp.float32(len(history)))"
    if kind == "nested":
        return "for epoch in range(2):\n    for i in range(2):\n" + block(body, "        ")
    return "try:\n    for i in range(6):\n" + block(body + ["if i == 2:", "    raise StopTraining"], "        ") + "\nexcept StopTraining:\n    pass"


# --- EQX001: a stack of identical layers ----------------------------------------------------------

BUILDS = ["split_comprehension", "star_unpacked", "sliced", "append_loop", "tuple_generator"]
APPLIES = ["plain", "zip_keys", "zip_keys_first", "zip_data", "residual"]


def _layer_stack(rng) -> tuple[dict, str]:
    axes = {"build": rng.choice(BUILDS), "apply": rng.choice(APPLIES), "stateful": rng.random() < 0.15, "depth": rng.choice([2, 3, 4])}
    return axes, _layer_stack_source(axes)


def _layer_stack_source(a: dict) -> str:
    depth = a["depth"]
    dropout = a["apply"] in ("zip_keys", "zip_keys_first")
    block = STATEFUL_BLOCK if a["stateful"] else (DROPOUT_BLOCK if dropout else PLAIN_BLOCK)
    build = {
        "split_comprehension": ["self.layers = [Block(width, k) for k in jr.split(key, depth)]"],
        "star_unpacked": ["key, *subkeys = jr.split(key, depth + 1)", "self.layers = [Block(width, k) for k in subkeys]"],
        "sliced": ["keys = jr.split(key, depth + 1)", "self.layers = [Block(width, k) for k in keys[1:]]"],
        "append_loop": ["layers = []", "for k in jr.split(key, depth):", "    layers.append(Block(width, k))", "self.layers = layers"],
        "tuple_generator": ["self.layers = tuple(Block(width, k) for k in jr.split(key, depth))"],
    }[a["build"]]
    state = a["stateful"]
    call = "x, state = layer(x, state)" if state else None
    apply = {
        "plain": ("for layer in self.layers:", call or "x = layer(x)"),
        "residual": ("for layer in self.layers:", call or "x = x + 0.5 * layer(x)"),
        "zip_keys": ("for layer, k in zip(self.layers, jr.split(key, len(self.layers))):", call or "x = layer(x, key=k)"),
        "zip_keys_first": ("for k, layer in zip(jr.split(key, 8), self.layers):", call or "x = layer(x, key=k)"),
        "zip_data": ("for layer, offset in zip(self.layers, self.offsets):", call or "x = layer(x) + offset"),
    }[a["apply"]]
    signature = "self, x, state" if state else ("self, x, *, key" if dropout else "self, x")
    ret = "return x, state" if state else "return x"
    init = "\n".join("        " + line for line in build)
    offsets = "        self.offsets = jnp.linspace(0.0, 1.0, depth * width).reshape(depth, width)\n"
    lines = [
        "class Net(eqx.Module):",
        "    layers: list",
        "    offsets: jnp.ndarray",
        "",
        "    def __init__(self, width, depth, key):",
        init,
        offsets.rstrip("\n"),
        "",
        f"    def __call__({signature}):",
        f"        {apply[0]}",
        f"            {apply[1]}",
        f"        {ret}",
    ]
    if state:
        run = (
            f"    model, state = eqx.nn.make_with_state(Net)(3, {depth}, jr.PRNGKey(0))\n"
            "    xs = jnp.arange(12.0).reshape(4, 3) / 10\n"
            '    out, _ = jax.vmap(model, axis_name="batch", in_axes=(0, None), out_axes=(0, None))(xs, state)\n'
            "    return out"
        )
    else:
        extra = ", key=jr.PRNGKey(7)" if dropout else ""
        run = f"    model = Net(3, {depth}, jr.PRNGKey(0))\n    return model(jnp.array([0.1, -0.2, 0.3]){extra})"
    return f"{STACK_HEADER}\n\n{block}\n\n" + "\n".join(lines) + f"\n\n\ndef run():\n{run}\n"


STACK_HEADER = """\
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr"""

PLAIN_BLOCK = """\
class Block(eqx.Module):
    linear: eqx.nn.Linear

    def __init__(self, width, key):
        self.linear = eqx.nn.Linear(width, width, key=key)

    def __call__(self, x):
        return jnp.tanh(self.linear(x))
"""

DROPOUT_BLOCK = """\
class Block(eqx.Module):
    linear: eqx.nn.Linear
    dropout: eqx.nn.Dropout

    def __init__(self, width, key):
        self.linear = eqx.nn.Linear(width, width, key=key)
        self.dropout = eqx.nn.Dropout(0.25)

    def __call__(self, x, *, key):
        return self.dropout(jnp.tanh(self.linear(x)), key=key)
"""

STATEFUL_BLOCK = """\
class Block(eqx.Module):
    linear: eqx.nn.Linear
    norm: eqx.nn.BatchNorm

    def __init__(self, width, key):
        self.linear = eqx.nn.Linear(width, width, key=key)
        self.norm = eqx.nn.BatchNorm(width, axis_name="batch")

    def __call__(self, x, state):
        x, state = self.norm(self.linear(x), state)
        return jnp.tanh(x), state
"""


# --- running one program before and after the fixes ----------------------------------------------


@dataclass
class Outcome:
    program: Program
    safe_fixes: int = 0  # fixes `--fix` applied
    unsafe_fixes: int = 0  # more that `--fix --unsafe-fixes` applied
    problem: str | None = None  # a broken safe fix, a crashing unsafe fix, a non-idempotent fix


def fix_counts(p: Program) -> tuple[int, int]:
    """How many safe and how many unsafe fixes `--fix --unsafe-fixes` makes, without running anything."""
    from eqx_rewrite.engine import Settings, analyse

    safe = analyse(p.source, Settings(), fix=True).fixes_applied
    return safe, analyse(p.source, Settings(unsafe_fixes=True), fix=True).fixes_applied - safe


def check(p: Program, workdir) -> Outcome:
    """Apply `--fix` and `--fix --unsafe-fixes`; every safe fix must give equal results, every
    unsafe fix must run and give equal outputs (the programs return outputs, not restacked
    Modules, where EQX001 may fire), and fixing twice must equal fixing once."""
    from catalogue import assert_same, load
    from eqx_rewrite.engine import Settings, analyse

    outcome = Outcome(p)
    before = None
    for unsafe in (False, True):
        settings = Settings(unsafe_fixes=unsafe)
        result = analyse(p.source, settings, fix=True)
        if result.fixed_source == p.source:
            continue
        if unsafe:
            outcome.unsafe_fixes = result.fixes_applied - outcome.safe_fixes
        else:
            outcome.safe_fixes = result.fixes_applied
        if analyse(result.fixed_source, settings, fix=True).fixed_source != result.fixed_source:
            outcome.problem = f"{'unsafe' if unsafe else 'safe'} fix is not idempotent"
            return outcome
        if before is None:
            before = load(workdir, p.source, workdir).run()
        try:
            after = load(workdir, result.fixed_source, workdir).run()
            assert_same(before, after)
        except Exception as exc:  # noqa: BLE001 - any failure is the finding
            kind = "safe fix changed the result" if not unsafe else "unsafe fix does not run or changed the outputs"
            outcome.problem = f"{kind}: {type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"
            return outcome
    return outcome

