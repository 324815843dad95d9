# expect: EQX002
# fix: safe
# behaviour: kept
# functools.partial(jax.jit, static_argnums=...) : positions shift by one in the flat variant.
from functools import partial

import jax
import jax.numpy as jnp


@partial(jax.jit, static_argnums=(2,))
def update(state, x, power):
    return {"acc": state["acc"] + x**power, "count": state["count"] + 1}


def run():
    state = {"acc": jnp.zeros(2), "count": jnp.zeros((), jnp.int32)}
    for i in range(5):
        state = update(state, jnp.array([1.0, 2.0]) * i, 2)
    return state
