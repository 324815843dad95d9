# expect: EQX001, EQX001
# fix: unsafe
# behaviour: kept
# Shapes real code has: per-layer keys taken by index from one split (`keys[i + 1]`), layers applied
# by index (`for i in range(len(self.layers))`), and through `enumerate` with the index unused.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Net(eqx.Module):
    layers: list
    blocks: list

    def __init__(self, width, depth, key):
        keys = jr.split(key, depth + 2)
        self.layers = [eqx.nn.Linear(width, width, key=keys[i + 1]) for i in range(depth)]
        self.blocks = [eqx.nn.Linear(width, width, key=k) for k in jr.split(keys[0], depth)]

    def __call__(self, x):
        for i in range(len(self.layers)):
            # the same layer twice in one step
            x = jnp.tanh(self.layers[i](x)) + 0.1 * self.layers[i](x)
        for j, block in enumerate(self.blocks):
            x = jax.nn.relu(block(x))
        return x


def run():
    return Net(3, 4, jr.PRNGKey(0))(jnp.array([0.5, -1.0, 2.0]))
