# expect: EQX001
# fix: unsafe
# behaviour: kept
# The name of the per-layer keys is bound twice in the method (`keys = split(key, 2)`, then
# `keys = split(keys[1], n)`): the loop reads the last assignment before it, which are split keys.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Interactor(eqx.Module):
    embed: eqx.nn.Linear
    layers: list

    def __init__(self, width, depth, key):
        keys = jr.split(key, 2)
        self.embed = eqx.nn.Linear(width, width, key=keys[0])
        layer_keys = jr.split(keys[1], depth)
        self.layers = [eqx.nn.Linear(width, width, key=layer_keys[i]) for i in range(depth)]

    def __call__(self, x, *, key):
        keys = jr.split(key, 2)
        x = self.embed(x) + jr.normal(keys[0], x.shape)
        keys = jr.split(keys[1], len(self.layers))
        for layer, key in zip(self.layers, keys):
            x = x + jnp.tanh(layer(x)) * jr.uniform(key=key, shape=())
        return x


def model():
    return Interactor(3, 4, jr.PRNGKey(0))


def example():
    return jnp.array([0.5, -1.0, 2.0])


def run():
    return model()(example(), key=jr.PRNGKey(1))
