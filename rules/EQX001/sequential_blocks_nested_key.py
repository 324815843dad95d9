# expect: EQX001
# fix: unsafe
# behaviour: kept
# Residual blocks each an `eqx.nn.Sequential` whose first layer takes the block's key, applied with
# a loop-invariant conditioning added to the carry (`h = block(h + cond)`), as velocity fields for
# flow matching are written.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class VelocityField(eqx.Module):
    cond: eqx.nn.Linear
    blocks: list

    def __init__(self, width, depth, key):
        keys = jr.split(key, 2)
        self.cond = eqx.nn.Linear(1, width, key=keys[0])
        self.blocks = [
            eqx.nn.Sequential(
                [
                    eqx.nn.Linear(width, width, key=k),
                    eqx.nn.LayerNorm(width),
                    eqx.nn.Lambda(jax.nn.gelu),
                ]
            )
            for k in jr.split(keys[1], depth)
        ]

    def __call__(self, h):
        cond = self.cond(h[:1])
        for block in self.blocks:
            h = block(h + cond)  # additive conditioning
        return h


def model():
    return VelocityField(3, 4, jr.PRNGKey(0))


def example():
    return jnp.array([0.5, -1.0, 2.0])


def run():
    return model()(example())
