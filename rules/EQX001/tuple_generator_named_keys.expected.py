# expect: EQX001
# fix: unsafe
# behaviour: kept
# A tuple built from a generator over a keys variable; `len(self.layers)` becomes a static count.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Tower(eqx.Module):
    layers: eqx.nn.Linear

    def __init__(self, width, depth, *, key):
        keys = jr.split(key, depth)
        self.layers = eqx.filter_vmap(lambda k: eqx.nn.Linear(width, width, key=k))(
            keys
        )

    def __call__(self, x):
        scale = 1.0 / jax.tree_util.tree_leaves(eqx.filter(self.layers, eqx.is_array))[0].shape[0]
        dynamic, static = eqx.partition(self.layers, eqx.is_array)

        def step(x, layer_dynamic):
            layer = eqx.combine(layer_dynamic, static)
            x = x + scale * jnp.tanh(layer(x))
            return x, None

        x, _ = jax.lax.scan(step, x, dynamic)
        return x


def convert_tower_layers_checkpoint(path, like):
    """Load a `Tower` checkpoint saved before eqx-rewrite stacked `layers` (EQX001).

    `path` was written by `eqx.tree_serialise_leaves`; `like` is a freshly built `Tower`.
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
    return Tower(5, 3, key=jr.PRNGKey(7))


def example():
    return jnp.linspace(-1.0, 1.0, 5)


def run():
    return model()(example())
