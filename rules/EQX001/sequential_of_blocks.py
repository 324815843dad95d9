# expect: EQX001
# fix: unsafe
# behaviour: kept
# eqx.nn.Sequential of identical blocks, called with and without a key.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Block(eqx.Module):
    linear: eqx.nn.Linear
    dropout: eqx.nn.Dropout

    def __init__(self, width, key):
        self.linear = eqx.nn.Linear(width, width, key=key)
        self.dropout = eqx.nn.Dropout(0.2)

    def __call__(self, x, *, key=None):
        return self.dropout(jax.nn.relu(self.linear(x)), key=key, inference=key is None)


class Net(eqx.Module):
    body: eqx.nn.Sequential

    def __init__(self, width, depth, key):
        self.body = eqx.nn.Sequential([Block(width, k) for k in jr.split(key, depth)])

    def __call__(self, x, *, key=None):
        return jnp.sum(self.body(x, key=key))

    def features(self, x):
        y = self.body(2 * x) + 1.0  # keep the offset
        return y


def model():
    return Net(5, 4, jr.PRNGKey(0))


def example():
    return jnp.linspace(0.0, 1.0, 5)


def run():
    net = model()
    return net(example()), net(example(), key=jr.PRNGKey(1)), net.features(example())
