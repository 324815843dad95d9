# expect: EQX005
# fix: none
import equinox as eqx
import jax.numpy as jnp


class Counter(eqx.Module):
    count: jnp.ndarray

    def __init__(self):
        object.__setattr__(self, "count", jnp.zeros(()))  # construction: not reported

    def bump(self):
        object.__setattr__(self, "count", self.count + 1)
        return self


def run():
    return Counter().bump().count
