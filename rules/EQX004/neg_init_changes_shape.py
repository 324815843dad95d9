# expect: none
# The init argument also decides the layer's width: more than initialisation.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Layer(eqx.Module):
    linear: eqx.nn.Linear

    def __init__(self, key, init_width=None):
        width = 4 if init_width is None else init_width
        self.linear = eqx.nn.Linear(width, width, key=key)
        if init_width is not None:
            self.linear = eqx.tree_at(lambda l: l.bias, self.linear, jnp.zeros(width))


def run():
    return Layer(jr.PRNGKey(0), init_width=3)
