# expect: EQX003
# fix: none
# Near misses for EQX001: heads applied side by side to the same input (an ensemble, which EQX003
# reports without a fix); a stack already built with filter_vmap; alternating per-layer arguments
# (shift sizes); only two written-out fields.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Heads(eqx.Module):
    heads: list

    def __init__(self, key):
        self.heads = [eqx.nn.Linear(4, 1, key=k) for k in jr.split(key, 3)]

    def __call__(self, x):
        return jnp.concatenate([head(x) for head in self.heads])


class Stacked(eqx.Module):
    layers: eqx.nn.Linear

    def __init__(self, key):
        self.layers = eqx.filter_vmap(lambda k: eqx.nn.Linear(4, 4, key=k))(jr.split(key, 3))

    def __call__(self, x):
        dynamic, static = eqx.partition(self.layers, eqx.is_array)

        def step(h, d):
            return eqx.combine(d, static)(h), None

        return jax.lax.scan(step, x, dynamic)[0]


class Shifted(eqx.Module):
    blocks: list

    def __init__(self, key):
        self.blocks = [eqx.nn.Conv1d(2, 2, 3, padding=i % 2 + 1, key=k) for i, k in enumerate(jr.split(key, 4))]

    def __call__(self, x):
        for block in self.blocks:
            x = block(x)[:, : x.shape[1]]
        return x


class Pair(eqx.Module):
    l1: eqx.nn.Linear
    l2: eqx.nn.Linear

    def __init__(self, key):
        k1, k2 = jr.split(key)
        self.l1 = eqx.nn.Linear(4, 4, key=k1)
        self.l2 = eqx.nn.Linear(4, 4, key=k2)

    def __call__(self, x):
        x = self.l1(x)
        x = self.l2(x)
        return x


def run():
    x = jnp.ones(4)
    keys = jr.split(jr.PRNGKey(0), 4)
    return Heads(keys[0])(x), Stacked(keys[1])(x), Shifted(keys[2])(jnp.ones((2, 5))), Pair(keys[3])(x)
