# expect: EQX001
# fix: unsafe
# behaviour: kept
# Per-layer keys picked from one split by an index that is no constant offset (`keys[-i]`, as a
# nanoGPT port writes it), and passed under another name than `key`: the rewrite stacks exactly the
# keys the comprehension picked.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Block(eqx.Module):
    linear: eqx.nn.Linear

    def __init__(self, width, *, jax_key):
        self.linear = eqx.nn.Linear(width, width, key=jax_key)

    def __call__(self, x, *, key):
        return x + jnp.tanh(self.linear(x)) * jr.uniform(key, ())


class Net(eqx.Module):
    embed: jax.Array
    blocks: Block

    def __init__(self, width, depth, key):
        keys = jr.split(key, depth + 1)
        self.embed = jr.normal(keys[0], (width,))
        self.blocks = eqx.filter_vmap(
            lambda layer_key: Block(width, jax_key=layer_key)
        )(jnp.stack([keys[-index] for index in range(depth)]))

    def __call__(self, x, *, key):
        x = x + self.embed
        keys = jr.split(key, jax.tree_util.tree_leaves(eqx.filter(self.blocks, eqx.is_array))[0].shape[0])
        dynamic, static = eqx.partition(self.blocks, eqx.is_array)

        def step(x, xs):
            block_dynamic, k = xs
            block = eqx.combine(block_dynamic, static)
            x = block(x, key=k)
            return x, None

        x, _ = jax.lax.scan(step, x, (dynamic, keys))
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
    return Net(3, 4, jr.PRNGKey(0))


def example():
    return jnp.array([0.5, -1.0, 2.0])


def run():
    return model()(example(), key=jr.PRNGKey(1))
