"""What EQX008 buys: the cost per call of a compiled function created on every pass of a loop,
against the same function created once before it (what `eqx-rewrite --fix` produces).

Each variant runs the loop `--calls` times after a short warm-up; the table shows microseconds per
call and how many times slower a call is when the function is created in the loop, all from this
one run.

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


if __name__ == "__main__":
    main()
