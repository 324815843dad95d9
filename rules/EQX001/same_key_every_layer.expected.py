# expect: EQX001, EQX007
# fix: unsafe, none
# behaviour: kept
# Every layer is built from the same key, so all start identical; the rewrite keeps that.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Repeated(eqx.Module):
    layers: eqx.nn.Linear

    def __init__(self, key, n=4):
        self.layers = eqx.filter_vmap(lambda k: eqx.nn.Linear(3, 3, key=k))(
            jnp.stack([key] * n)
        )

    def __call__(self, x):
        dynamic, static = eqx.partition(self.layers, eqx.is_array)

        def step(x, layer_dynamic):
            layer = eqx.combine(layer_dynamic, static)
            x = jnp.sin(layer(x))
            return x, None

        x, _ = jax.lax.scan(step, x, dynamic)
        return x


def convert_repeated_layers_checkpoint(path, like):
    """Load a `Repeated` checkpoint saved before eqx-rewrite stacked `layers` (EQX001).

    `path` was written by `eqx.tree_serialise_leaves`; `like` is a freshly built `Repeated`.
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
    return Repeated(jr.PRNGKey(2))


def example():
    return jnp.ones(3)


def run():
    return model()(example())
