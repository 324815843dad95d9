# expect: EQX003
# fix: safe
# behaviour: kept
# Members made by a factory function, outputs collected by an appending loop.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def make_member(key):
    return eqx.nn.MLP(2, 1, 4, 1, key=key)


def run():
    members = eqx.filter_vmap(lambda k: make_member(k))(jr.split(jr.PRNGKey(2), 4))
    x = jnp.array([1.0, -1.0])
    outputs = list(eqx.filter_vmap(lambda member: member(x))(members))
    return jnp.stack(outputs)
