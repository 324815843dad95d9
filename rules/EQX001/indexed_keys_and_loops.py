# expect: EQX001
# fix: unsafe
# behaviour: kept
# Shapes real code has: per-layer keys taken by index from one split (`keys[i + 1]`), and layers
# applied by index (`for i in range(len(self.layers))`), twice in one step.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Net(eqx.Module):
    head: eqx.nn.Linear
    layers: list

    def __init__(self, width, depth, key):
        keys = jr.split(key, depth + 2)
        self.head = eqx.nn.Linear(width, width, key=keys[0])
        self.layers = [eqx.nn.Linear(width, width, key=keys[i + 1]) for i in range(depth)]

    def __call__(self, x):
        for i in range(len(self.layers)):
            # the same layer twice in one step
            x = jnp.tanh(self.layers[i](x)) + 0.1 * self.layers[i](x)
        return self.head(x)


def model():
    return Net(3, 4, jr.PRNGKey(0))


def example():
    return jnp.array([0.5, -1.0, 2.0])


def run():
    return model()(example())
