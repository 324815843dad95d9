# expect: EQX006
# fix: none
# The body function is also called directly, so rewriting it would change that caller too.
from jax import lax
import jax.numpy as jnp


def run():
    x = jnp.ones(2)

    def step(carry, w):
        return x * w, None

    direct, _ = step(x, 3.0)
    out, _ = lax.scan(step, x, jnp.arange(3.0))
    return direct, out
