# expect: EQX001
# fix: unsafe
# behaviour: kept
# Keys star-unpacked from a split (a Python list: the fix stacks it before `filter_vmap`), and
# dropout keys zipped in front of the layers, split once more than there are layers (zip stops at
# the shorter, so the scan takes one key per layer).
import equinox as eqx
import jax
import jax.random as jr


class Block(eqx.Module):
    linear: eqx.nn.Linear
    dropout: eqx.nn.Dropout

    def __init__(self, width, key):
        self.linear = eqx.nn.Linear(width, width, key=key)
        self.dropout = eqx.nn.Dropout(0.2)

    def __call__(self, x, *, key):
        return self.dropout(jax.nn.tanh(self.linear(x)), key=key)


class Net(eqx.Module):
    head: eqx.nn.Linear
    layers: Block

    def __init__(self, width, depth, key):
        key, *subkeys = jr.split(key, depth + 1)
        self.head = eqx.nn.Linear(width, width, key=key)
        self.layers = eqx.filter_vmap(lambda k: Block(width, k))(
            jax.numpy.stack(subkeys)
        )

    def __call__(self, x, *, key):
        keys = jr.split(key, 8)
        dynamic, static = eqx.partition(self.layers, eqx.is_array)
        num_layers = jax.tree_util.tree_leaves(dynamic)[0].shape[0]

        def step(x, xs):
            layer_dynamic, k = xs
            layer = eqx.combine(layer_dynamic, static)
            x = layer(x, key=k)
            return x, None

        x, _ = jax.lax.scan(step, x, (dynamic, keys[:num_layers]))
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
    stacked = jax.tree_util.tree_map(lambda *a: jax.numpy.stack(a), *arrays)
    return eqx.tree_at(lambda m: m.layers, old, eqx.combine(stacked, static))


def model():
    return Net(5, 4, jr.PRNGKey(0))


def example():
    return jax.numpy.linspace(-1.0, 1.0, 5)


def run():
    return model()(example(), key=jr.PRNGKey(3))
