# expect: EQX004
# fix: unsafe
# behaviour: kept
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Encoder(eqx.Module):
    embed: eqx.nn.Linear

    def __init__(self, size, *, key):
        self.embed = eqx.nn.Linear(3, size, key=key)


def init_encoder(model, size, *, embed_bias_init=None):
    """Apply `Encoder`'s custom initialisers to a built model with `eqx.tree_at` (EQX004)."""
    if embed_bias_init is not None:
        model = eqx.tree_at(lambda l: l.embed.bias, model, embed_bias_init(size))
    return model


def run():
    return init_encoder(
        Encoder(5, key=jr.PRNGKey(2)), 5, embed_bias_init=jnp.ones
    ), Encoder(5, key=jr.PRNGKey(3))
