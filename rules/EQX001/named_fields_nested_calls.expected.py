# expect: EQX001
# fix: unsafe
# behaviour: kept
# Written-out fields applied as one nested expression, the same activation around every layer.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Deep(eqx.Module):
    layers: eqx.nn.Linear

    def __init__(self, key):
        k1, k2, k3 = jr.split(key, 3)
        self.layers = eqx.filter_vmap(lambda k: eqx.nn.Linear(4, 4, key=k))(
            jnp.stack([k1, k2, k3])
        )

    def __call__(self, x):
        dynamic, static = eqx.partition(self.layers, eqx.is_array)

        def step(h, layer_dynamic):
            layer = eqx.combine(layer_dynamic, static)
            h = jax.nn.gelu(layer(h))
            return h, None

        h, _ = jax.lax.scan(step, x + 1.0, dynamic)
        return jnp.mean(h)


def convert_deep_layers_checkpoint(path, like):
    """Load a `Deep` checkpoint saved before eqx-rewrite stacked `layers` (EQX001).

    `path` was written by `eqx.tree_serialise_leaves`; `like` is a freshly built `Deep`.
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
    return Deep(jr.PRNGKey(4))


def example():
    return jnp.arange(4.0)


def run():
    return model()(example())
