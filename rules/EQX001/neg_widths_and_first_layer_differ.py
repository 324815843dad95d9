# expect: none
# Widths change from layer to layer; in the second model the first layer differs.
import equinox as eqx
import jax
import jax.random as jr


class Funnel(eqx.Module):
    layers: list

    def __init__(self, key):
        widths = [16, 8, 4]
        keys = jr.split(key, 2)
        self.layers = [eqx.nn.Linear(i, o, key=k) for i, o, k in zip(widths[:-1], widths[1:], keys)]

    def __call__(self, x):
        for layer in self.layers:
            x = jax.nn.relu(layer(x))
        return x


class Tower(eqx.Module):
    layer1: eqx.nn.Linear
    layer2: eqx.nn.Linear
    layer3: eqx.nn.Linear

    def __init__(self, key):
        k1, k2, k3 = jr.split(key, 3)
        self.layer1 = eqx.nn.Linear(16, 4, key=k1)
        self.layer2 = eqx.nn.Linear(4, 4, key=k2)
        self.layer3 = eqx.nn.Linear(4, 4, key=k3)

    def __call__(self, x):
        x = self.layer1(x)
        x = self.layer2(x)
        x = self.layer3(x)
        return x


def run():
    x = jr.normal(jr.PRNGKey(1), (16,))
    return Funnel(jr.PRNGKey(0))(x), Tower(jr.PRNGKey(0))(x)
