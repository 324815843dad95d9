# expect: EQX001
# fix: unsafe
# behaviour: kept
# Written-out fields applied as one nested expression, the same activation around every layer.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Deep(eqx.Module):
    l1: eqx.nn.Linear
    l2: eqx.nn.Linear
    l3: eqx.nn.Linear

    def __init__(self, key):
        k1, k2, k3 = jr.split(key, 3)
        self.l1 = eqx.nn.Linear(4, 4, key=k1)
        self.l2 = eqx.nn.Linear(4, 4, key=k2)
        self.l3 = eqx.nn.Linear(4, 4, key=k3)

    def __call__(self, x):
        return jnp.mean(jax.nn.gelu(self.l3(jax.nn.gelu(self.l2(jax.nn.gelu(self.l1(x + 1.0)))))))


def model():
    return Deep(jr.PRNGKey(4))


def example():
    return jnp.arange(4.0)


def run():
    return model()(example())
