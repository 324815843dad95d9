# expect: EQX001
# fix: none
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Net(eqx.Module):
    layers: list

    def __init__(self, key):
        self.layers = [eqx.nn.Linear(2, 2, key=k) for k in jr.split(key, 4)]

    def __call__(self, x, upto=None):
        for layer in self.layers:
            if upto == 0:
                break
            x = layer(x)
        return x


def run():
    return Net(jr.PRNGKey(0))(jnp.ones(2))
