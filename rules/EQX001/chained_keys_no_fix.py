# expect: EQX001
# fix: none
# Keys re-split on every pass of the build loop: the layers are identical but for keys that come
# one after another from a chain, which one split for all layers would not reproduce.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Net(eqx.Module):
    layers: list

    def __init__(self, width, depth, key):
        layers = []
        for _ in range(depth):
            key, subkey = jr.split(key)
            layers.append(eqx.nn.Linear(width, width, key=subkey))
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = jnp.tanh(layer(x))
        return x


def run():
    return Net(3, 3, jr.PRNGKey(0))(jnp.ones(3))
