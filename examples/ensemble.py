# A deep ensemble built and evaluated member by member.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def run():
    keys = jr.split(jr.PRNGKey(0), 5)
    models = [eqx.nn.MLP(3, 2, 8, 2, key=k) for k in keys]
    x = jnp.array([0.1, 0.2, 0.3])
    preds = jnp.stack([m(x) for m in models])  # (members, 2)
    return preds
