# A transformer-ish residual stack held in a list, applied block by block.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Block(eqx.Module):
    linear: eqx.nn.Linear

    def __init__(self, width, *, key):
        self.linear = eqx.nn.Linear(width, width, key=key)

    def __call__(self, x, scale):
        return self.linear(x) * scale


class Net(eqx.Module):
    norm: eqx.nn.LayerNorm
    blocks: list[Block]
    head: eqx.nn.Linear

    def __init__(self, width, depth, *, key):
        bkey, hkey = jr.split(key)
        self.norm = eqx.nn.LayerNorm(width)
        self.blocks = [Block(width, key=k) for k in jr.split(bkey, depth)]
        self.head = eqx.nn.Linear(width, 1, key=hkey)

    def __call__(self, x, scale=0.5):
        for block in self.blocks:
            # pre-norm residual step
            x = x + jax.nn.gelu(block(self.norm(x), scale))
        return self.head(x)


def model():
    return Net(8, 6, key=jr.PRNGKey(0))


def example():
    return jr.normal(jr.PRNGKey(1), (8,))


def run():
    return eqx.filter_jit(model())(example()), model().head.weight
