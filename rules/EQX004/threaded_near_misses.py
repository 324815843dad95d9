# expect: EQX004
# fix: safe
# behaviour: kept
# Near misses of threading: `Wide` also picks a width from its argument, and `Shaping`'s argument
# sizes the layer, so `Wide` and `Outer` stay quiet. `_Inner` alone is plain initialisation: its fix
# rewrites the call inside `Wide` and leaves `Wide`'s argument alone.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def ones_init(key, shape):
    return jnp.ones(shape)


class _Inner(eqx.Module):
    linear: eqx.nn.Linear

    def __init__(self, width, key, weight_init=None):
        self.linear = eqx.nn.Linear(width, width, key=key)
        if weight_init is not None:
            self.linear = eqx.tree_at(lambda l: l.weight, self.linear, weight_init(key, (width, width)))


class Wide(eqx.Module):
    inner: _Inner

    def __init__(self, key, inner_init=None):
        width = 2 if inner_init is None else 3
        self.inner = _Inner(width, key, weight_init=inner_init)


class Shaping(eqx.Module):
    linear: eqx.nn.Linear

    def __init__(self, key, init_size=None):
        self.linear = eqx.nn.Linear(init_size or 2, 2, key=key)


class Outer(eqx.Module):
    shaping: Shaping

    def __init__(self, key, shaping_init=None):
        self.shaping = Shaping(key, init_size=shaping_init)


def run():
    keys = jr.split(jr.PRNGKey(0))
    return Wide(keys[0], inner_init=ones_init), Outer(keys[1], shaping_init=3)
