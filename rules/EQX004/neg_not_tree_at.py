# expect: none
# The guard block replaces the weight through the user's own function, which doubles it: the
# helper would write `eqx.tree_at` there and change the weights, so the rule stays quiet.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def scaled_copy(where, layer, value):
    return eqx.tree_at(where, layer, 2 * value)


class _Block(eqx.Module):
    proj: eqx.nn.Linear

    def __init__(self, key, proj_init=None):
        self.proj = eqx.nn.Linear(2, 2, key=key)
        if proj_init is not None:
            self.proj = scaled_copy(lambda l: l.weight, self.proj, proj_init((2, 2)))


def run():
    return _Block(jr.PRNGKey(0), proj_init=jnp.ones)
