# expect: EQX005
# fix: none
# `in_features` is static: tree_at cannot replace it, so there is no fix to offer.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def run():
    linear = eqx.nn.Linear(3, 3, key=jr.PRNGKey(0))
    object.__setattr__(linear, "in_features", 3)
    return linear(jnp.ones(3))
