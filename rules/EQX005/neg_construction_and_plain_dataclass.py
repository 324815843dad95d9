# expect: none
# Setting fields in __init__/__post_init__ is construction; a frozen dataclass that is not an
# Equinox module is not this rule's business.
import dataclasses

import equinox as eqx
import jax.numpy as jnp


class Affine(eqx.Module):
    weight: jnp.ndarray
    bias: jnp.ndarray

    def __init__(self, n):
        object.__setattr__(self, "weight", jnp.ones(n))
        self.bias = jnp.zeros(n)


class Shifted(eqx.Module):
    bias: jnp.ndarray

    def __post_init__(self):
        object.__setattr__(self, "bias", self.bias + 1)


@dataclasses.dataclass(frozen=True)
class Config:
    lr: float


def run():
    config = Config(0.1)
    object.__setattr__(config, "lr", 0.2)
    plain = Affine(2)
    return plain.weight * config.lr + plain.bias + Shifted(jnp.zeros(2)).bias
