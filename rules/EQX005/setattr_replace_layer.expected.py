# expect: EQX005
# fix: safe
# behaviour: kept
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def run():
    mlp = eqx.nn.MLP(3, 2, 8, 2, key=jr.PRNGKey(0))
    new_final = eqx.nn.Linear(8, 2, key=jr.PRNGKey(1))
    layers = list(mlp.layers)
    layers[-1] = new_final
    mlp = eqx.tree_at(lambda mlp: mlp.layers, mlp, tuple(layers))  # swap the head
    return mlp(jnp.ones(3))
