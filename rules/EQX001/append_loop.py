# expect: EQX001
# fix: unsafe
# behaviour: kept
import equinox as eqx
import jax
import jax.random as jr


class MLPStack(eqx.Module):
    layers: list

    def __init__(self, width, depth, key):
        layers = []
        for k in jr.split(key, depth):
            layers.append(eqx.nn.Linear(width, width, key=k))
        self.layers = layers

    def __call__(self, x):
        for layer in self.layers:
            x = jax.nn.relu(layer(x))
        return x


def model():
    return MLPStack(4, 5, jr.PRNGKey(3))


def example():
    return jr.normal(jr.PRNGKey(4), (4,))


def run():
    return model()(example())
