# expect: EQX001
# fix: none
# The loop's index does more than pick the layer (it scales each step): no fix.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Net(eqx.Module):
    layers: list

    def __init__(self, width, depth, key):
        self.layers = [eqx.nn.Linear(width, width, key=k) for k in jr.split(key, depth)]

    def __call__(self, x):
        for i, layer in enumerate(self.layers):
            x = jnp.tanh(layer(x)) * (i + 1)
        return x


def run():
    return Net(3, 3, jr.PRNGKey(0))(jnp.ones(3))
