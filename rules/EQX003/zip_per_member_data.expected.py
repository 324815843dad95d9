# expect: EQX003
# fix: safe
# behaviour: kept
# Each member sees its own batch.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def run():
    keys = jr.split(jr.PRNGKey(1), 3)
    models = eqx.filter_vmap(lambda k: eqx.nn.Linear(2, 2, key=k))(keys)
    batches = [jnp.full(2, float(i)) for i in range(3)]
    outs = list(
        eqx.filter_vmap(lambda m, b: m(b), in_axes=(eqx.if_array(0), 0))(
            models, jnp.asarray(batches)
        )
    )
    return jnp.stack(outs)
