# expect: EQX003
# fix: safe
# behaviour: kept
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def run():
    keys = jr.split(jr.PRNGKey(0), 5)
    models = eqx.filter_vmap(lambda k: eqx.nn.MLP(3, 2, 8, 2, key=k))(keys)
    x = jnp.array([0.1, 0.2, 0.3])
    preds = eqx.filter_vmap(lambda m: m(x))(models)  # (members, 2)
    return preds
