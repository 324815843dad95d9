# Scan-over-layers copied from Equinox's Tricks page (v0.10.2 - v0.11.0).
import equinox as eqx
import jax.lax as lax
import jax.random as jr


class Stack(eqx.Module):
    mlps: eqx.nn.MLP

    def __init__(self, size, key):
        make = lambda k: eqx.nn.MLP(size, size, size, 1, key=k)
        self.mlps = eqx.filter_vmap(make)(jr.split(key, 4))

    def __call__(self, x):
        dynamic, static = eqx.partition(self.mlps, eqx.is_array)

        def f(_x, _dynamic):
            mlp = eqx.combine(_dynamic, static)
            return mlp(x), None  # every step sees x

        out, _ = lax.scan(f, x, dynamic)
        return out


def run():
    return Stack(3, jr.PRNGKey(0))(jr.normal(jr.PRNGKey(1), (3,)))

