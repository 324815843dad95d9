# expect: none
# Without a custom __init__, dataclasses.replace works on a module as on any dataclass.
import dataclasses

import equinox as eqx
import jax.numpy as jnp


class Params(eqx.Module):
    w: jnp.ndarray


def run():
    p = Params(jnp.ones(2))
    return dataclasses.replace(p, w=p.w * 3).w
