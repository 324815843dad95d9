# expect: EQX001
# fix: unsafe
# behaviour: kept
# The name of the per-layer keys is bound twice in the method (`keys = split(key, 2)`, then
# `keys = split(keys[1], n)`): the loop reads the last assignment before it, which are split keys.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Interactor(eqx.Module):
    embed: eqx.nn.Linear
    layers: eqx.nn.Linear

    def __init__(self, width, depth, key):
        keys = jr.split(key, 2)
        self.embed = eqx.nn.Linear(width, width, key=keys[0])
        layer_keys = jr.split(keys[1], depth)
        self.layers = eqx.filter_vmap(lambda k: eqx.nn.Linear(width, width, key=k))(
            layer_keys[:depth]
        )

    def __call__(self, x, *, key):
        keys = jr.split(key, 2)
        x = self.embed(x) + jr.normal(keys[0], x.shape)
        keys = jr.split(keys[1], jax.tree_util.tree_leaves(eqx.filter(self.layers, eqx.is_array))[0].shape[0])
        dynamic, static = eqx.partition(self.layers, eqx.is_array)

        def step(x, xs):
            layer_dynamic, key = xs
            layer = eqx.combine(layer_dynamic, static)
            x = x + jnp.tanh(layer(x)) * jr.uniform(key=key, shape=())
            return x, None

        x, _ = jax.lax.scan(step, x, (dynamic, keys))
        return x


def convert_interactor_layers_checkpoint(path, like):
    """Load a `Interactor` checkpoint saved before eqx-rewrite stacked `layers` (EQX001).

    `path` was written by `eqx.tree_serialise_leaves`; `like` is a freshly built `Interactor`.
    """
    dynamic, static = eqx.partition(like.layers, eqx.is_array)
    count = jax.tree_util.tree_leaves(dynamic)[0].shape[0]
    layers = [
        eqx.combine(jax.tree_util.tree_map(lambda a: a[i], dynamic), static)
        for i in range(count)
    ]
    old = eqx.tree_deserialise_leaves(
        path, eqx.tree_at(lambda m: m.layers, like, layers)
    )
    arrays = [eqx.filter(layer, eqx.is_array) for layer in old.layers]
    stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *arrays)
    return eqx.tree_at(lambda m: m.layers, old, eqx.combine(stacked, static))


def model():
    return Interactor(3, 4, jr.PRNGKey(0))


def example():
    return jnp.array([0.5, -1.0, 2.0])


def run():
    return model()(example(), key=jr.PRNGKey(1))
