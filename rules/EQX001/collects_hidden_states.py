# expect: EQX001
# fix: none
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Net(eqx.Module):
    layers: list

    def __init__(self, key):
        self.layers = [eqx.nn.Linear(2, 2, key=k) for k in jr.split(key, 3)]

    def __call__(self, x):
        hidden = []
        for layer in self.layers:
            x = layer(x)
            hidden.append(x)
        return x, jnp.stack(hidden)


def run():
    return Net(jr.PRNGKey(0))(jnp.ones(2))
