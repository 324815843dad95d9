# expect: EQX001
# fix: unsafe
# behaviour: kept
import equinox as eqx
import jax
import jax.random as jr


class MLPStack(eqx.Module):
    layers: eqx.nn.Linear

    def __init__(self, width, depth, key):
        layers = eqx.filter_vmap(lambda k: eqx.nn.Linear(width, width, key=k))(
            jr.split(key, depth)
        )
        self.layers = layers

    def __call__(self, x):
        dynamic, static = eqx.partition(self.layers, eqx.is_array)

        def step(x, layer_dynamic):
            layer = eqx.combine(layer_dynamic, static)
            x = jax.nn.relu(layer(x))
            return x, None

        x, _ = jax.lax.scan(step, x, dynamic)
        return x


def convert_mlp_stack_layers_checkpoint(path, like):
    """Load a `MLPStack` checkpoint saved before eqx-rewrite stacked `layers` (EQX001).

    `path` was written by `eqx.tree_serialise_leaves`; `like` is a freshly built `MLPStack`.
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
    stacked = jax.tree_util.tree_map(lambda *a: jax.numpy.stack(a), *arrays)
    return eqx.tree_at(lambda m: m.layers, old, eqx.combine(stacked, static))


def model():
    return MLPStack(4, 5, jr.PRNGKey(3))


def example():
    return jr.normal(jr.PRNGKey(4), (4,))


def run():
    return model()(example())
