# expect: none
# The body reads its carry: correct scan, nothing to report.
from jax import lax
import jax.numpy as jnp


def run():
    x = jnp.ones(2)

    def step(carry, w):
        return carry * w + x, carry

    return lax.scan(step, x, jnp.arange(3.0))
