# expect: EQX001
# fix: unsafe
# behaviour: kept
# Residual blocks in a list built by a comprehension over split keys; the loop body has a norm, an
# activation and an extra argument closed over from the call.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Block(eqx.Module):
    linear: eqx.nn.Linear

    def __init__(self, width, *, key):
        self.linear = eqx.nn.Linear(width, width, key=key)

    def __call__(self, x, scale):
        return self.linear(x) * scale


class Net(eqx.Module):
    norm: eqx.nn.LayerNorm
    blocks: Block
    head: eqx.nn.Linear

    def __init__(self, width, depth, *, key):
        bkey, hkey = jr.split(key)
        self.norm = eqx.nn.LayerNorm(width)
        self.blocks = eqx.filter_vmap(lambda k: Block(width, key=k))(
            jr.split(bkey, depth)
        )
        self.head = eqx.nn.Linear(width, 1, key=hkey)

    def __call__(self, x, scale=0.5):
        dynamic, static = eqx.partition(self.blocks, eqx.is_array)

        def step(x, block_dynamic):
            block = eqx.combine(block_dynamic, static)
            # pre-norm residual step
            x = x + jax.nn.gelu(block(self.norm(x), scale))
            return x, None

        x, _ = jax.lax.scan(step, x, dynamic)
        return self.head(x)


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
    return Net(8, 6, key=jr.PRNGKey(0))


def example():
    return jr.normal(jr.PRNGKey(1), (8,))


def run():
    return eqx.filter_jit(model())(example()), model().head.weight
