# expect: EQX101, EQX101, EQX101
# fix: safe
# behaviour: repaired
# The top-level tree aliases, gone since JAX 0.6.0: under an alias of jax, and one passed as a
# function rather than called.
import jax
import jax as j
import jax.numpy as jnp


def halve(params):
    return jax.tree.map(lambda p: p * 0.5, params)


def run():
    params = {"w": jnp.ones((2, 2)), "b": jnp.zeros(2)}
    leaves = jax.tree.leaves(halve(params))
    mapper = jax.tree.map
    return leaves, mapper(jnp.negative, params)


def reference():
    params = {"w": jnp.ones((2, 2)), "b": jnp.zeros(2)}
    leaves = jax.tree_util.tree_leaves(jax.tree_util.tree_map(lambda p: p * 0.5, params))
    return leaves, jax.tree_util.tree_map(jnp.negative, params)
