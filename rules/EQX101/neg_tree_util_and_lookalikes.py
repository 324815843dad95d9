# expect: none
# Near misses: `jax.tree_util.tree_map` is not deprecated, and a project's own `tree_map` or an
# attribute of that name on another object is not JAX's.
import jax
import jax.numpy as jnp


def tree_map(f, xs):
    return [f(x) for x in xs]


class Helpers:
    tree_map = staticmethod(tree_map)


def run():
    params = {"w": jnp.ones(2)}
    return jax.tree_util.tree_map(jnp.negative, params), tree_map(jnp.negative, [jnp.ones(2)]), Helpers().tree_map(jnp.abs, [jnp.ones(2)])
