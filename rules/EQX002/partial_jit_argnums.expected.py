# expect: EQX002
# fix: safe
# behaviour: kept
# functools.partial(jax.jit, static_argnums=...) : positions shift by one in the flat variant.
from functools import partial

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


@partial(jax.jit, static_argnums=(2,))
def update(model, x, power):
    grads = jax.grad(lambda m: jnp.sum(m(x) ** power))(model)
    return jax.tree_util.tree_map(lambda p, g: p - 0.01 * g, model, grads)


@partial(jax.jit, static_argnums=(0, 3))
def update_flat(treedefs, model, x, power):
    """`update` on flattened state, for a loop that keeps its state flat (eqx-rewrite EQX002)."""
    model = jax.tree_util.tree_unflatten(treedefs[0], model)
    results = update(model, x, power)
    model, treedef_model = jax.tree_util.tree_flatten(results)
    if (treedef_model,) != treedefs:
        raise ValueError(
            "`update` changed the structure of its state; it cannot run on flattened leaves"
        )
    return model


def run():
    model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
    flat_model, treedef_model = jax.tree_util.tree_flatten(model)
    for i in range(5):
        flat_model = update_flat(
            (treedef_model,), flat_model, jnp.array([1.0, 2.0]) * i, 2
        )
    model = jax.tree_util.tree_unflatten(treedef_model, flat_model)
    return model
