# expect: EQX003
# fix: safe
# behaviour: kept
# Each member sees its own batch.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def run():
    keys = jr.split(jr.PRNGKey(1), 3)
    models = [eqx.nn.Linear(2, 2, key=k) for k in keys]
    batches = [jnp.full(2, float(i)) for i in range(3)]
    outs = [m(b) for m, b in zip(models, batches)]
    return jnp.stack(outs)
