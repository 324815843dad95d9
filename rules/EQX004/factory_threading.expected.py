# expect: EQX004
# fix: safe
# behaviour: kept
# A private factory that only hands its initialiser to the model's constructor: both lose it, and
# the factory's helper re-derives the key the factory gave the model.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def ones_like_init(key, shape):
    return jnp.ones(shape) + 0.01 * jr.normal(key, shape)


class _Encoder(eqx.Module):
    embed: eqx.nn.Linear

    def __init__(self, size, *, key):
        k_embed, k_init = jr.split(key)
        self.embed = eqx.nn.Linear(3, size, key=k_embed)

    def __call__(self, x):
        return self.embed(x)


def init_encoder(model, size, *, key, embed_init=None):
    """Apply `_Encoder`'s custom initialisers to a built model with `eqx.tree_at` (EQX004)."""
    k_embed, k_init = jr.split(key)
    if embed_init is not None:
        model = eqx.tree_at(
            lambda l: l.embed.weight, model, embed_init(k_init, (size, 3))
        )
    return model


def _make_encoder(seed):
    key = jr.PRNGKey(seed)
    model = _Encoder(4, key=key)
    return model


def init_make_encoder(model, seed, *, weight_init=None):
    """Apply `_make_encoder`'s custom initialisers to a built model with `eqx.tree_at` (EQX004)."""
    key = jr.PRNGKey(seed)
    if weight_init is not None:
        model = init_encoder(model, 4, key=key, embed_init=weight_init)
    return model


def run():
    x = jnp.arange(3.0)
    plain = _make_encoder(0)
    custom = init_make_encoder(_make_encoder(1), 1, weight_init=ones_like_init)
    return plain(x), custom(x), custom
