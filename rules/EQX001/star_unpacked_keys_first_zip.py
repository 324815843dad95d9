# expect: EQX001
# fix: unsafe
# behaviour: kept
# Keys star-unpacked from a split (a Python list: the fix stacks it before `filter_vmap`), and
# dropout keys zipped in front of the layers, split once more than there are layers (zip stops at
# the shorter, so the scan takes one key per layer).
import equinox as eqx
import jax
import jax.random as jr


class Block(eqx.Module):
    linear: eqx.nn.Linear
    dropout: eqx.nn.Dropout

    def __init__(self, width, key):
        self.linear = eqx.nn.Linear(width, width, key=key)
        self.dropout = eqx.nn.Dropout(0.2)

    def __call__(self, x, *, key):
        return self.dropout(jax.nn.tanh(self.linear(x)), key=key)


class Net(eqx.Module):
    head: eqx.nn.Linear
    layers: list

    def __init__(self, width, depth, key):
        key, *subkeys = jr.split(key, depth + 1)
        self.head = eqx.nn.Linear(width, width, key=key)
        self.layers = [Block(width, k) for k in subkeys]

    def __call__(self, x, *, key):
        keys = jr.split(key, 8)
        for k, layer in zip(keys, self.layers):
            x = layer(x, key=k)
        return self.head(x)


def model():
    return Net(5, 4, jr.PRNGKey(0))


def example():
    return jax.numpy.linspace(-1.0, 1.0, 5)


def run():
    return model()(example(), key=jr.PRNGKey(3))
