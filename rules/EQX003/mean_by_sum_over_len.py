# expect: EQX003
# fix: safe
# behaviour: kept
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def predict(x, key):
    models = [eqx.nn.Linear(4, 1, key=k) for k in jr.split(key, 6)]
    return sum(m(x) for m in models) / len(models)


def run():
    return predict(jnp.ones(4), jr.PRNGKey(3))
