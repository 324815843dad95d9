# expect: EQX001
# fix: none
# The last layer is also used on its own, which a stacked module cannot offer as it is.
import equinox as eqx
import jax.random as jr


class Net(eqx.Module):
    layers: list

    def __init__(self, key):
        self.layers = [eqx.nn.Linear(4, 4, key=k) for k in jr.split(key, 3)]

    def __call__(self, x):
        for layer in self.layers:
            x = layer(x)
        return x

    def logits(self, x):
        return self.layers[-1](x)


def run():
    return Net(jr.PRNGKey(0))(jr.normal(jr.PRNGKey(1), (4,)))
