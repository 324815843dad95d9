# expect: EQX003
# fix: safe
# behaviour: kept
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def predict(x, key):
    models = eqx.filter_vmap(lambda k: eqx.nn.Linear(4, 1, key=k))(jr.split(key, 6))
    return jnp.sum(eqx.filter_vmap(lambda m: m(x))(models), axis=0) / 6


def run():
    return predict(jnp.ones(4), jr.PRNGKey(3))
