# expect: none
# Members differ in width: not one batched pytree.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def run():
    widths = [4, 8, 16]
    models = [eqx.nn.MLP(2, 2, w, 1, key=k) for w, k in zip(widths, jr.split(jr.PRNGKey(0), 3))]
    x = jnp.ones(2)
    return jnp.stack([m(x) for m in models])
