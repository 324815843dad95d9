# expect: EQX001
# fix: unsafe
# behaviour: kept
# Written-out fields built from keys split elsewhere, chained with the same wrapper each time.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class Encoder(eqx.Module):
    embed: eqx.nn.Linear
    blocks: eqx.nn.MLP

    def __init__(self, key):
        keys = jr.split(key, 4)
        self.embed = eqx.nn.Linear(3, 6, key=keys[0])
        self.blocks = eqx.filter_vmap(lambda k: eqx.nn.MLP(6, 6, 12, 1, key=k))(
            jnp.stack([keys[1], keys[2], keys[3]])
        )

    def __call__(self, x):
        h = self.embed(x)
        dynamic, static = eqx.partition(self.blocks, eqx.is_array)

        def step(h, layer_dynamic):
            layer = eqx.combine(layer_dynamic, static)
            h = h + layer(h)
            return h, None

        h, _ = jax.lax.scan(step, h, dynamic)
        return jnp.sum(h)


def convert_encoder_blocks_checkpoint(path, like):
    """Load a `Encoder` checkpoint saved before eqx-rewrite stacked `blocks` (EQX001).

    `path` was written by `eqx.tree_serialise_leaves`; `like` is a freshly built `Encoder`.
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
    return Encoder(jr.PRNGKey(11))


def example():
    return jnp.array([0.1, -0.2, 0.3])


def run():
    return jax.grad(lambda x: model()(x))(example())
