# expect: EQX001
# fix: unsafe
# behaviour: kept
# The loop carries two values: the activation and a running penalty.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Net(eqx.Module):
    layers: list

    def __init__(self, key):
        self.layers = [eqx.nn.Linear(4, 4, key=k) for k in jr.split(key, 3)]

    def __call__(self, x):
        penalty = jnp.zeros(())
        for layer in self.layers:
            x = jnp.tanh(layer(x))
            penalty = penalty + jnp.sum(x**2)
        return x, penalty


def model():
    return Net(jr.PRNGKey(9))


def example():
    return jnp.arange(4.0) / 4


def run():
    return model()(example())
