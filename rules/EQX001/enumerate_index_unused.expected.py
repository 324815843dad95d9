# expect: EQX001
# fix: unsafe
# behaviour: kept
# Layers applied through `enumerate`, the index unused.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Net(eqx.Module):
    blocks: eqx.nn.Linear

    def __init__(self, width, depth, key):
        self.blocks = eqx.filter_vmap(lambda k: eqx.nn.Linear(width, width, key=k))(
            jr.split(key, depth)
        )

    def __call__(self, x):
        dynamic, static = eqx.partition(self.blocks, eqx.is_array)

        def step(x, block_dynamic):
            block = eqx.combine(block_dynamic, static)
            x = jax.nn.relu(block(x))
            return x, None

        x, _ = jax.lax.scan(step, x, dynamic)
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
    return Net(3, 4, jr.PRNGKey(1))


def example():
    return jnp.array([0.5, -1.0, 2.0])


def run():
    return model()(example())
