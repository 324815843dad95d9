# expect: EQX001, EQX007
# fix: unsafe, none
# behaviour: kept
# Every layer is built from the same key, so all start identical; the rewrite keeps that.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Repeated(eqx.Module):
    layers: list

    def __init__(self, key, n=4):
        self.layers = [eqx.nn.Linear(3, 3, key=key) for _ in range(n)]

    def __call__(self, x):
        for layer in self.layers:
            x = jnp.sin(layer(x))
        return x


def model():
    return Repeated(jr.PRNGKey(2))


def example():
    return jnp.ones(3)


def run():
    return model()(example())
