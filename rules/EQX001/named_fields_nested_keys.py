# expect: EQX001
# fix: unsafe
# behaviour: kept
# Written-out fields built from keys split elsewhere, chained with the same wrapper each time.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Encoder(eqx.Module):
    embed: eqx.nn.Linear
    block1: eqx.nn.MLP
    block2: eqx.nn.MLP
    block3: eqx.nn.MLP

    def __init__(self, key):
        keys = jr.split(key, 4)
        self.embed = eqx.nn.Linear(3, 6, key=keys[0])
        self.block1 = eqx.nn.MLP(6, 6, 12, 1, key=keys[1])
        self.block2 = eqx.nn.MLP(6, 6, 12, 1, key=keys[2])
        self.block3 = eqx.nn.MLP(6, 6, 12, 1, key=keys[3])

    def __call__(self, x):
        h = self.embed(x)
        h = h + self.block1(h)
        h = h + self.block2(h)
        h = h + self.block3(h)
        return jnp.sum(h)


def model():
    return Encoder(jr.PRNGKey(11))


def example():
    return jnp.array([0.1, -0.2, 0.3])


def run():
    return jax.grad(lambda x: model()(x))(example())
