# expect: EQX001
# fix: unsafe
# behaviour: kept
# Layers appended directly onto the field in `__init__`.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Net(eqx.Module):
    layers: list

    def __init__(self, width, depth, key):
        self.layers = []
        for k in jr.split(key, depth):
            self.layers.append(eqx.nn.Linear(width, width, key=k))

    def __call__(self, x):
        for layer in self.layers:
            x = jnp.tanh(layer(x))
        return x


def model():
    return Net(3, 4, jr.PRNGKey(0))


def example():
    return jnp.ones(3)


def run():
    return model()(example())
