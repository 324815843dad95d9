# expect: EQX001
# fix: unsafe
# behaviour: kept
# eqx.nn.Sequential of identical blocks, called with and without a key.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Block(eqx.Module):
    linear: eqx.nn.Linear
    dropout: eqx.nn.Dropout

    def __init__(self, width, key):
        self.linear = eqx.nn.Linear(width, width, key=key)
        self.dropout = eqx.nn.Dropout(0.2)

    def __call__(self, x, *, key=None):
        return self.dropout(jax.nn.relu(self.linear(x)), key=key, inference=key is None)


class Net(eqx.Module):
    body: Block

    def __init__(self, width, depth, key):
        self.body = eqx.filter_vmap(lambda k: Block(width, k))(jr.split(key, depth))

    def __call__(self, x, *, key=None):
        dynamic, static = eqx.partition(self.body, eqx.is_array)
        num_layers = jax.tree_util.tree_leaves(dynamic)[0].shape[0]

        def step(h, xs):
            layer_dynamic, k = xs
            layer = eqx.combine(layer_dynamic, static)
            h = layer(h, key=k)
            return h, None

        h, _ = jax.lax.scan(
            step, x, (dynamic, None if key is None else jr.split(key, num_layers))
        )
        return jnp.sum(h)

    def features(self, x):
        dynamic, static = eqx.partition(self.body, eqx.is_array)

        def step(h, layer_dynamic):
            layer = eqx.combine(layer_dynamic, static)
            h = layer(h, key=None)
            return h, None

        h, _ = jax.lax.scan(step, 2 * x, dynamic)
        y = h + 1.0  # keep the offset
        return y


def convert_net_body_checkpoint(path, like):
    """Load a `Net` checkpoint saved before eqx-rewrite stacked `body` (EQX001).

    `path` was written by `eqx.tree_serialise_leaves`; `like` is a freshly built `Net`.
    """
    dynamic, static = eqx.partition(like.body, eqx.is_array)
    count = jax.tree_util.tree_leaves(dynamic)[0].shape[0]
    layers = [
        eqx.combine(jax.tree_util.tree_map(lambda a: a[i], dynamic), static)
        for i in range(count)
    ]
    old = eqx.tree_deserialise_leaves(path, eqx.tree_at(lambda m: m.body, like, layers))
    arrays = [eqx.filter(layer, eqx.is_array) for layer in old.body]
    stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *arrays)
    return eqx.tree_at(lambda m: m.body, old, eqx.combine(stacked, static))


def model():
    return Net(5, 4, jr.PRNGKey(0))


def example():
    return jnp.linspace(0.0, 1.0, 5)


def run():
    net = model()
    return net(example()), net(example(), key=jr.PRNGKey(1)), net.features(example())
