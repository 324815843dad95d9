# expect: EQX001
# fix: unsafe
# behaviour: kept
# Each layer gets its own dropout key: the keys become scanned inputs.
import equinox as eqx
import jax
import jax.random as jr


class Block(eqx.Module):
    linear: eqx.nn.Linear
    dropout: eqx.nn.Dropout

    def __init__(self, width, key):
        self.linear = eqx.nn.Linear(width, width, key=key)
        self.dropout = eqx.nn.Dropout(0.3)

    def __call__(self, x, *, key):
        return self.dropout(jax.nn.relu(self.linear(x)), key=key)


class Net(eqx.Module):
    layers: Block

    def __init__(self, width, depth, key):
        self.layers = eqx.filter_vmap(lambda k: Block(width, k))(jr.split(key, depth))

    def __call__(self, x, *, key):
        dynamic, static = eqx.partition(self.layers, eqx.is_array)
        num_layers = jax.tree_util.tree_leaves(dynamic)[0].shape[0]

        def step(x, xs):
            layer_dynamic, k = xs
            layer = eqx.combine(layer_dynamic, static)
            x = layer(x, key=k)
            return x, None

        x, _ = jax.lax.scan(step, x, (dynamic, jr.split(key, num_layers)))
        return x


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
    stacked = jax.tree_util.tree_map(lambda *a: jax.numpy.stack(a), *arrays)
    return eqx.tree_at(lambda m: m.layers, old, eqx.combine(stacked, static))


def model():
    return Net(6, 4, jr.PRNGKey(0))


def example():
    return jax.numpy.ones(6)


def run():
    return model()(example(), key=jr.PRNGKey(5))
