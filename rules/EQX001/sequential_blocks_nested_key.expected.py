# expect: EQX001
# fix: unsafe
# behaviour: kept
# Residual blocks each an `eqx.nn.Sequential` whose first layer takes the block's key, applied with
# a loop-invariant conditioning added to the carry (`h = block(h + cond)`), as velocity fields for
# flow matching are written.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


class VelocityField(eqx.Module):
    cond: eqx.nn.Linear
    blocks: eqx.nn.Sequential

    def __init__(self, width, depth, key):
        keys = jr.split(key, 2)
        self.cond = eqx.nn.Linear(1, width, key=keys[0])
        self.blocks = eqx.filter_vmap(
            lambda k: eqx.nn.Sequential(
                [
                    eqx.nn.Linear(width, width, key=k),
                    eqx.nn.LayerNorm(width),
                    eqx.nn.Lambda(jax.nn.gelu),
                ]
            )
        )(jr.split(keys[1], depth))

    def __call__(self, h):
        cond = self.cond(h[:1])
        dynamic, static = eqx.partition(self.blocks, eqx.is_array)

        def step(h, block_dynamic):
            block = eqx.combine(block_dynamic, static)
            h = block(h + cond)  # additive conditioning
            return h, None

        h, _ = jax.lax.scan(step, h, dynamic)
        return h


def convert_velocity_field_blocks_checkpoint(path, like):
    """Load a `VelocityField` checkpoint saved before eqx-rewrite stacked `blocks` (EQX001).

    `path` was written by `eqx.tree_serialise_leaves`; `like` is a freshly built `VelocityField`.
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
    return VelocityField(3, 4, jr.PRNGKey(0))


def example():
    return jnp.array([0.5, -1.0, 2.0])


def run():
    return model()(example())
