# expect: none
# Near miss: identical encoders of which `jax.lax.switch` runs one per call (handed over as lambdas,
# never evaluated together).
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class MultiEncoder(eqx.Module):
    encoders: list

    def __init__(self, n, key):
        self.encoders = [eqx.nn.Linear(3, 3, key=k) for k in jr.split(key, n)]

    def __call__(self, x, group):
        return jax.lax.switch(group, [lambda x, e=e: e(x) for e in self.encoders], x)


def run():
    key, x = jr.PRNGKey(0), jnp.array([0.5, -1.0, 2.0])
    return MultiEncoder(3, key)(x, 1)
