# expect: EQX003
# fix: none
# Two identical networks written out as fields, each handed one of the split keys positionally, and
# evaluated on the same input (the shape of a siren basis pair in a neural-operator layer). Reported
# without a fix: the members are named fields.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Siren(eqx.Module):
    mlp: eqx.nn.MLP

    def __init__(self, width, depth, key):
        self.mlp = eqx.nn.MLP(1, 4, width, depth, activation=jnp.sin, key=key)

    def __call__(self, x):
        return self.mlp(x)


class BasisLayer(eqx.Module):
    A: jnp.ndarray
    basis1: Siren
    basis2: Siren

    def __init__(self, width, depth, key):
        keys = jr.split(key, 3)
        self.A = jr.normal(keys[0], (4, 4))
        self.basis1 = Siren(width, depth, keys[1])
        self.basis2 = Siren(width, depth, keys[2])

    def __call__(self, x):
        b1 = self.basis1(x)
        b2 = self.basis2(x)
        return b2 @ (self.A @ b1)


def run():
    return BasisLayer(8, 2, jr.PRNGKey(0))(jnp.ones(1))
