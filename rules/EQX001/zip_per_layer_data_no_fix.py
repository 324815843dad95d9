# expect: EQX001
# fix: none
# The layers are zipped with per-layer data, not keys: a scan over "keys" would feed each layer the
# wrong values, so the stack is reported without a fix.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Net(eqx.Module):
    layers: list
    offsets: jnp.ndarray

    def __init__(self, width, depth, key):
        self.layers = [eqx.nn.Linear(width, width, key=k) for k in jr.split(key, depth)]
        self.offsets = jnp.linspace(0.0, 1.0, depth * width).reshape(depth, width)

    def __call__(self, x):
        for layer, offset in zip(self.layers, self.offsets):
            x = jnp.tanh(layer(x) + offset)
        return x


def run():
    return Net(3, 4, jr.PRNGKey(0))(jnp.ones(3))
