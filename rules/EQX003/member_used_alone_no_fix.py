# expect: EQX003
# fix: none
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def run():
    models = [eqx.nn.Linear(2, 2, key=k) for k in jr.split(jr.PRNGKey(0), 3)]
    x = jnp.ones(2)
    best = models[0](x)
    return best, jnp.stack([m(x) for m in models])
