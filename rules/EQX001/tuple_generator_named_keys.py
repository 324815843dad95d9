# expect: EQX001
# fix: unsafe
# behaviour: kept
# A tuple built from a generator over a keys variable; `len(self.layers)` becomes a static count.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Tower(eqx.Module):
    layers: tuple

    def __init__(self, width, depth, *, key):
        keys = jr.split(key, depth)
        self.layers = tuple(eqx.nn.Linear(width, width, key=k) for k in keys)

    def __call__(self, x):
        scale = 1.0 / len(self.layers)
        for layer in self.layers:
            x = x + scale * jnp.tanh(layer(x))
        return x


def model():
    return Tower(5, 3, key=jr.PRNGKey(7))


def example():
    return jnp.linspace(-1.0, 1.0, 5)


def run():
    return model()(example())
