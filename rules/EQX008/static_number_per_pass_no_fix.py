# expect: EQX008, EQX008, EQX008, EQX008
# fix: none
# A compiled function fed a new Python number on every pass, where it is static: the loop index
# under `eqx.filter_jit` (every non-array argument is static), a decayed learning rate computed
# from it, a counter stepped in a `while` loop, and a `static_argnums` position of `jax.jit`.
import functools

import equinox as eqx
import jax
import jax.numpy as jnp


@eqx.filter_jit
def step(x, i):
    return x * 0.5 + i


@functools.partial(jax.jit, static_argnums=1)
def shift(x, by):
    return x + by


def train(x, n):
    total = 0.0
    for i in range(n):
        total = total + step(x, i)
    for i in range(n):
        lr = 0.1 * 0.9**i
        total = total + step(x, lr)
    return total


def run_until(x, limit):
    total, count = 0.0, 0
    while count < limit:
        total = total + shift(x, count)
        count += 1
    for t, _ in enumerate(range(3)):
        total = total + step(x, i=float(t))
    return total


def run():
    x = jnp.ones(3)
    return train(x, 3), run_until(x, 3)
