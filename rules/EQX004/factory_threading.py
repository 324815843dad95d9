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

    def __init__(self, size, *, key, embed_init=None):
        k_embed, k_init = jr.split(key)
        self.embed = eqx.nn.Linear(3, size, key=k_embed)
        if embed_init is not None:
            self.embed = eqx.tree_at(lambda l: l.weight, self.embed, embed_init(k_init, (size, 3)))

    def __call__(self, x):
        return self.embed(x)


def _make_encoder(seed, weight_init=None):
    key = jr.PRNGKey(seed)
    model = _Encoder(4, key=key, embed_init=weight_init)
    return model


def run():
    x = jnp.arange(3.0)
    plain = _make_encoder(0)
    custom = _make_encoder(1, weight_init=ones_like_init)
    return plain(x), custom(x), custom
