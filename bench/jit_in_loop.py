"""What EQX008 buys: the cost per call of a compiled function created on every pass of a loop,
against the same function created once before it (what `eqx-rewrite --fix` produces); and of a
compiled function fed a new Python number as a static argument on every pass, against the same
number passed as an array.

Each variant runs the loop `--calls` times after a short warm-up; the tables show microseconds per
call and how many times slower a call is in the slow form, all from this one run.

    python bench/jit_in_loop.py
    python bench/jit_in_loop.py --calls 500
"""

from __future__ import annotations

import argparse
import time

import equinox as eqx
import jax
import jax.numpy as jnp

X = jnp.ones((64,))


def f(x):
    return jnp.tanh(x) * 2 + 1


def variants(wrap):
    """(in the loop around a lambda, in the loop around a named function, hoisted)."""

    def lambda_in_loop(n):
        for _ in range(n):
            wrap(lambda y: jnp.tanh(y) * 2 + 1)(X).block_until_ready()

    def named_in_loop(n):
        for _ in range(n):
            wrap(f)(X).block_until_ready()

    def hoisted(n):
        g = wrap(f)
        for _ in range(n):
            g(X).block_until_ready()

    return lambda_in_loop, named_in_loop, hoisted


def scale(x, s):
    return jnp.tanh(x) * s


def static_variants(wrap, traced):
    """(a new Python number each pass, held static; the same numbers as arrays, traced)."""
    g, h = wrap(scale), traced(scale)
    offset = [0]  # new values in every run, as a training loop's step count is

    def number_per_pass(n):
        for i in range(n):
            g(X, float(offset[0] + i)).block_until_ready()
        offset[0] += n

    def array_per_pass(n):
        for i in range(n):
            h(X, jnp.asarray(float(offset[0] + i))).block_until_ready()
        offset[0] += n

    return number_per_pass, array_per_pass


def per_call(body, calls: int) -> float:
    body(3)
    start = time.perf_counter()
    body(calls)
    return (time.perf_counter() - start) / calls * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=200)
    args = parser.parse_args()
    print(f"jax {jax.__version__}, equinox {eqx.__version__}, {jax.devices()[0].platform}\n")
    print("| wrapper | lambda in the loop (us/call) | named function in the loop | created once | lambda / once | named / once |")
    print("|---|---|---|---|---|---|")
    for label, wrap in (("jax.jit", jax.jit), ("eqx.filter_jit", eqx.filter_jit)):
        lam, named, hoisted = (per_call(v, args.calls) for v in variants(wrap))
        print(f"| `{label}` | {lam:.0f} | {named:.0f} | {hoisted:.0f} | {lam / hoisted:.0f}x | {named / hoisted:.1f}x |")
    print("\n| wrapper | a new Python number each pass, static (us/call) | the number as an array | static / array |")
    print("|---|---|---|---|")
    static_wraps = (
        ("eqx.filter_jit", eqx.filter_jit, eqx.filter_jit),
        ("jax.jit(static_argnums=1)", lambda f: jax.jit(f, static_argnums=1), jax.jit),
    )
    for label, wrap, traced in static_wraps:
        number, array = (per_call(v, args.calls) for v in static_variants(wrap, traced))
        print(f"| `{label}` | {number:.0f} | {array:.0f} | {number / array:.0f}x |")


if __name__ == "__main__":
    main()
