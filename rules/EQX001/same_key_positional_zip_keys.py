# expect: EQX001, EQX007
# fix: unsafe, none
# behaviour: kept
# As in Equinox's vision transformer example: every block built from the same key, passed
# positionally, and applied zipped with per-layer dropout keys split for them.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Block(eqx.Module):
    linear: eqx.nn.Linear
    dropout: eqx.nn.Dropout

    def __init__(self, width, key):
        self.linear = eqx.nn.Linear(width, width, key=key)
        self.dropout = eqx.nn.Dropout(0.1)

    def __call__(self, x, enable_dropout, *, key):
        return self.dropout(jnp.tanh(self.linear(x)), inference=not enable_dropout, key=key)


class Net(eqx.Module):
    blocks: list
    num_layers: int

    def __init__(self, width, num_layers, key):
        key1, key2 = jr.split(key)
        self.blocks = [Block(width, key2) for _ in range(num_layers)]
        self.num_layers = num_layers

    def __call__(self, x, *, key):
        dropout_keys = jr.split(key, num=self.num_layers)
        for block, k in zip(self.blocks, dropout_keys):
            x = block(x, True, key=k)
        return x


def model():
    return Net(4, 3, jr.PRNGKey(0))


def example():
    return jnp.linspace(0.0, 1.0, 4)


def run():
    return model()(example(), key=jr.PRNGKey(1))
