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


@partial(jax.jit, static_argnums=(0, 3))
def update_flat(treedefs, flat_state, x, power):
    """`update` on flattened state, for a loop that keeps its state flat (eqx-rewrite EQX002)."""
    state = jax.tree_util.tree_unflatten(treedefs[0], flat_state)
    state = update(state, x, power)
    flat_state, treedef_state = jax.tree_util.tree_flatten(state)
    if (treedef_state,) != treedefs:
        raise ValueError(
            "`update` changed the structure of its state; it cannot run on flattened leaves"
        )
    return flat_state


def run():
    state = {"acc": jnp.zeros(2), "count": jnp.zeros((), jnp.int32)}
    flat_state, treedef_state = jax.tree_util.tree_flatten(state)
    for i in range(5):
        flat_state = update_flat(
            (treedef_state,), flat_state, jnp.array([1.0, 2.0]) * i, 2
        )
    state = jax.tree_util.tree_unflatten(treedef_state, flat_state)
    return state
