# expect: EQX005, EQX005
# fix: safe
# behaviour: kept
# Two consecutive writes to one object become one tree_at with a tuple of places.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def run():
    linear = eqx.nn.Linear(4, 4, key=jr.PRNGKey(0))
    linear = eqx.tree_at(
        lambda linear: (linear.weight, linear.bias), linear, (jnp.eye(4), jnp.zeros(4))
    )
    return linear(jnp.arange(4.0))
