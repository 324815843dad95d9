# expect: none
# Near misses: the number passed as an array, the same number on every pass, a traced (not static)
# position of `jax.jit`, an index of an outer loop (one compile per outer pass, not per call), and a
# function that is not compiled.
import equinox as eqx
import jax
import jax.numpy as jnp


@eqx.filter_jit
def step(x, i):
    return x * 0.5 + i


@jax.jit
def traced(x, by):
    return x + by


def plain(x, by):
    return x + by


def train(x, n, lr):
    total = 0.0
    for i in range(n):
        total = total + step(x, jnp.asarray(i))
    for _ in range(n):
        total = total + step(x, lr)
    for i in range(n):
        total = total + traced(x, i)
    for epoch in range(2):
        for _ in range(n):
            total = total + step(x, epoch)
    for i in range(n):
        total = total + plain(x, i)
    return total


def run():
    return train(jnp.ones(3), 3, 0.1)
