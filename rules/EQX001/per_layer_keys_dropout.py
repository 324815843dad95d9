# expect: EQX001
# fix: unsafe
# behaviour: kept
# Each layer gets its own dropout key: the keys become scanned inputs.
import equinox as eqx
import jax
import jax.random as jr


class Block(eqx.Module):
    linear: eqx.nn.Linear
    dropout: eqx.nn.Dropout

    def __init__(self, width, key):
        self.linear = eqx.nn.Linear(width, width, key=key)
        self.dropout = eqx.nn.Dropout(0.3)

    def __call__(self, x, *, key):
        return self.dropout(jax.nn.relu(self.linear(x)), key=key)


class Net(eqx.Module):
    layers: list

    def __init__(self, width, depth, key):
        self.layers = [Block(width, k) for k in jr.split(key, depth)]

    def __call__(self, x, *, key):
        for layer, k in zip(self.layers, jr.split(key, len(self.layers))):
            x = layer(x, key=k)
        return x


def model():
    return Net(6, 4, jr.PRNGKey(0))


def example():
    return jax.numpy.ones(6)


def run():
    return model()(example(), key=jr.PRNGKey(5))
