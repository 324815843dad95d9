# expect: none
# The body ignores its carry and reads a closed-over `bias` that is not the init: scan used as a
# map, which is legitimate.
import jax
import jax.numpy as jnp


def run():
    bias = jnp.ones(2)
    init = jnp.zeros(2)

    def step(_, w):
        return jnp.zeros(2), bias * w

    return jax.lax.scan(step, init, jnp.arange(3.0))
