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

    def __init__(self, size, key):
        keys = jr.split(key, 6)
        self.embed = eqx.nn.Linear(3, size, key=keys[0])
        self.norm = eqx.nn.LayerNorm(size)
        self.hidden = eqx.nn.Linear(size, size, key=keys[1])
        self.out = eqx.nn.Linear(size, 1, key=keys[2])

    def __call__(self, x):
        return self.out(jax.nn.gelu(self.hidden(self.norm(self.embed(x)))))


def init_tower(model, key, *, weight_init=None):
    """Apply `_Tower`'s custom initialisers to a built model with `eqx.tree_at` (EQX004)."""
    keys = jr.split(key, 6)
    if weight_init is not None:
        is_linear = lambda x: isinstance(x, eqx.nn.Linear)
        get_weights = lambda m: [
            x.weight
            for x in jax.tree_util.tree_leaves(m, is_leaf=is_linear)
            if is_linear(x)
        ]
        # Each layer's own key, in the order `get_weights` lists the layers.
        layer_keys = [keys[3], keys[4], keys[5]]
        model = eqx.tree_at(
            get_weights,
            model,
            [weight_init(k, p.shape) for k, p in zip(layer_keys, get_weights(model))],
        )
    return model


class _Pair(eqx.Module):
    first: eqx.nn.Linear
    second: eqx.nn.Linear

    def __init__(self, key):
        k1, k2, k3 = jr.split(key, 3)
        self.first = eqx.nn.Linear(2, 2, key=k1)
        self.second = eqx.nn.Linear(2, 2, key=k2)

    def __call__(self, x):
        return self.second(self.first(x))


def init_pair(model, key, *, weight_init=None):
    """Apply `_Pair`'s custom initialisers to a built model with `eqx.tree_at` (EQX004)."""
    k1, k2, k3 = jr.split(key, 3)
    if weight_init is not None:
        model = eqx.tree_at(
            lambda l: l.first.weight, model, weight_init(k3, model.first.weight.shape)
        )
    return model


def run():
    x = jnp.linspace(-1.0, 1.0, 3)
    tower = init_tower(_Tower(4, jr.PRNGKey(0)), jr.PRNGKey(0), weight_init=trunc_init)
    pair = init_pair(_Pair(jr.PRNGKey(1)), jr.PRNGKey(1), weight_init=trunc_init)
    return tower(x), tower, pair(x[:2]), pair
