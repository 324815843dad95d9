# expect: EQX001
# fix: unsafe
# behaviour: kept
# Layers applied through `enumerate`, the index unused.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Net(eqx.Module):
    blocks: list

    def __init__(self, width, depth, key):
        self.blocks = [eqx.nn.Linear(width, width, key=k) for k in jr.split(key, depth)]

    def __call__(self, x):
        for j, block in enumerate(self.blocks):
            x = jax.nn.relu(block(x))
        return x


def model():
    return Net(3, 4, jr.PRNGKey(1))


def example():
    return jnp.array([0.5, -1.0, 2.0])


def run():
    return model()(example())
