# expect: EQX001
# fix: unsafe
# behaviour: kept
# Shapes real code has: per-layer keys taken by index from one split (`keys[i + 1]`), and layers
# applied by index (`for i in range(len(self.layers))`), twice in one step.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Net(eqx.Module):
    head: eqx.nn.Linear
    layers: eqx.nn.Linear

    def __init__(self, width, depth, key):
        keys = jr.split(key, depth + 2)
        self.head = eqx.nn.Linear(width, width, key=keys[0])
        self.layers = eqx.filter_vmap(lambda k: eqx.nn.Linear(width, width, key=k))(
            keys[1 : depth + 1]
        )

    def __call__(self, x):
        dynamic, static = eqx.partition(self.layers, eqx.is_array)

        def step(x, layer_dynamic):
            layer = eqx.combine(layer_dynamic, static)
            # the same layer twice in one step
            x = jnp.tanh(layer(x)) + 0.1 * layer(x)
            return x, None

        x, _ = jax.lax.scan(step, x, dynamic)
        return self.head(x)


def convert_net_layers_checkpoint(path, like):
    """Load a `Net` checkpoint saved before eqx-rewrite stacked `layers` (EQX001).

    `path` was written by `eqx.tree_serialise_leaves`; `like` is a freshly built `Net`.
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
    return Net(3, 4, jr.PRNGKey(0))


def example():
    return jnp.array([0.5, -1.0, 2.0])


def run():
    return model()(example())
