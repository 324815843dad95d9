# expect: none
# The init argument also decides the layer's width and a branch: more than initialisation.
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


class Mode(eqx.Module):
    linear: eqx.nn.Linear

    def __init__(self, key, weight_init="default"):
        self.linear = eqx.nn.Linear(2, 2, key=key)
        if weight_init == "zeros":
            self.linear = eqx.tree_at(lambda l: l.weight, self.linear, jnp.zeros((2, 2)))


def run():
    return Layer(jr.PRNGKey(0), init_width=3), Mode(jr.PRNGKey(0), weight_init="zeros")
