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


def run():
    model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
    for i in range(5):
        model = update(model, jnp.array([1.0, 2.0]) * i, 2)
    return model
