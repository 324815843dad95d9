# expect: EQX001, EQX007
# fix: unsafe, none
# behaviour: kept
# As in Equinox's vision transformer example: every block built from the same key, passed
# positionally, and applied zipped with per-layer dropout keys split for them.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Block(eqx.Module):
    linear: eqx.nn.Linear
    dropout: eqx.nn.Dropout

    def __init__(self, width, key):
        self.linear = eqx.nn.Linear(width, width, key=key)
        self.dropout = eqx.nn.Dropout(0.1)

    def __call__(self, x, enable_dropout, *, key):
        return self.dropout(jnp.tanh(self.linear(x)), inference=not enable_dropout, key=key)


class Net(eqx.Module):
    blocks: Block
    num_layers: int

    def __init__(self, width, num_layers, key):
        key1, key2 = jr.split(key)
        self.blocks = eqx.filter_vmap(lambda layer_key: Block(width, layer_key))(
            jnp.stack([key2] * num_layers)
        )
        self.num_layers = num_layers

    def __call__(self, x, *, key):
        dropout_keys = jr.split(key, num=self.num_layers)
        dynamic, static = eqx.partition(self.blocks, eqx.is_array)
        num_blocks = jax.tree_util.tree_leaves(dynamic)[0].shape[0]

        def step(x, xs):
            block_dynamic, k = xs
            block = eqx.combine(block_dynamic, static)
            x = block(x, True, key=k)
            return x, None

        x, _ = jax.lax.scan(step, x, (dynamic, dropout_keys[:num_blocks]))
        return x


def convert_net_blocks_checkpoint(path, like):
    """Load a `Net` checkpoint saved before eqx-rewrite stacked `blocks` (EQX001).

    `path` was written by `eqx.tree_serialise_leaves`; `like` is a freshly built `Net`.
    """
    dynamic, static = eqx.partition(like.blocks, eqx.is_array)
    count = jax.tree_util.tree_leaves(dynamic)[0].shape[0]
    layers = [
        eqx.combine(jax.tree_util.tree_map(lambda a: a[i], dynamic), static)
        for i in range(count)
    ]
    old = eqx.tree_deserialise_leaves(
        path, eqx.tree_at(lambda m: m.blocks, like, layers)
    )
    arrays = [eqx.filter(layer, eqx.is_array) for layer in old.blocks]
    stacked = jax.tree_util.tree_map(lambda *a: jnp.stack(a), *arrays)
    return eqx.tree_at(lambda m: m.blocks, old, eqx.combine(stacked, static))


def model():
    return Net(4, 3, jr.PRNGKey(0))


def example():
    return jnp.linspace(0.0, 1.0, 4)


def run():
    return model()(example(), key=jr.PRNGKey(1))
