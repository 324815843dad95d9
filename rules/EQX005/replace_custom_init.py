# expect: EQX005
# fix: safe
# behaviour: kept
# dataclasses.replace calls the custom __init__ with field names and raises TypeError; run() shows
# the intent (guarded so the original runs), and the fix makes the replace work.
import dataclasses

import equinox as eqx
import jax.numpy as jnp


class Scale(eqx.Module):
    factor: jnp.ndarray

    def __init__(self, size):
        self.factor = jnp.ones(size)


def double(s: Scale):
    return dataclasses.replace(s, factor=2 * s.factor)


def run():
    s = Scale(3)
    try:
        s = double(s)
    except TypeError:
        s = Scale(3)
        s = eqx.tree_at(lambda m: m.factor, s, 2 * s.factor)
    return s.factor
