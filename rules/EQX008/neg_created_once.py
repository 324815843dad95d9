# expect: none
# Near misses: a wrapper created once and called in the loop, one in the loop's iterable (evaluated
# once), one in the loop's `else`, and one inside a function defined in the loop but only called
# after it.
import jax
import jax.numpy as jnp


def double(x):
    return 2 * x


def run():
    fast = jax.jit(double)
    out = jnp.ones(3)
    for y in jax.jit(double)(jnp.arange(3.0)):
        out = fast(out) + y
    else:
        out = jax.jit(double)(out)
    makers = []
    for _ in range(2):
        def make():
            return jax.jit(double)
        makers.append(make)
    return makers[0]()(out)
