# expect: EQX004, EQX004
# fix: safe
# behaviour: kept
# `_Tower` gives every Linear the same weight initialiser: the helper takes the Tricks page's generic
# form, one `tree_at` over all Linear weights, each with the key the constructor gave it. `_Pair`
# initialises only one of its two Linears, so it keeps one `tree_at` per layer.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


def trunc_init(key, shape):
    return jr.truncated_normal(key, -2.0, 2.0, shape) / jnp.sqrt(shape[-1])


class _Tower(eqx.Module):
    embed: eqx.nn.Linear
    norm: eqx.nn.LayerNorm
    hidden: eqx.nn.Linear
    out: eqx.nn.Linear

    def __init__(self, size, key, weight_init=None):
        keys = jr.split(key, 6)
        self.embed = eqx.nn.Linear(3, size, key=keys[0])
        self.norm = eqx.nn.LayerNorm(size)
        self.hidden = eqx.nn.Linear(size, size, key=keys[1])
        self.out = eqx.nn.Linear(size, 1, key=keys[2])
        if weight_init is not None:
            self.out = eqx.tree_at(lambda l: l.weight, self.out, weight_init(keys[5], self.out.weight.shape))
            self.embed = eqx.tree_at(lambda l: l.weight, self.embed, weight_init(keys[3], self.embed.weight.shape))
            self.hidden = eqx.tree_at(lambda l: l.weight, self.hidden, weight_init(keys[4], self.hidden.weight.shape))

    def __call__(self, x):
        return self.out(jax.nn.gelu(self.hidden(self.norm(self.embed(x)))))


class _Pair(eqx.Module):
    first: eqx.nn.Linear
    second: eqx.nn.Linear

    def __init__(self, key, weight_init=None):
        k1, k2, k3 = jr.split(key, 3)
        self.first = eqx.nn.Linear(2, 2, key=k1)
        self.second = eqx.nn.Linear(2, 2, key=k2)
        if weight_init is not None:
            self.first = eqx.tree_at(lambda l: l.weight, self.first, weight_init(k3, self.first.weight.shape))

    def __call__(self, x):
        return self.second(self.first(x))


def run():
    x = jnp.linspace(-1.0, 1.0, 3)
    tower = _Tower(4, jr.PRNGKey(0), weight_init=trunc_init)
    pair = _Pair(jr.PRNGKey(1), weight_init=trunc_init)
    return tower(x), tower, pair(x[:2]), pair
