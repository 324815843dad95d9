# expect: EQX004
# fix: none
# The embedding is built, then rebuilt from scratch with the custom weight: reported, not fixed,
# since nothing short of running it shows the rebuilt layer differs only in that weight.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Tokens(eqx.Module):
    embed: eqx.nn.Embedding

    def __init__(self, vocab, dim, *, key, embed_init=None):
        k_embed, k_init = jr.split(key)
        self.embed = eqx.nn.Embedding(vocab, dim, key=k_embed)
        if embed_init is not None:
            self.embed = eqx.nn.Embedding(weight=embed_init(k_init, (vocab, dim)))

    def __call__(self, token):
        return self.embed(token)


def run():
    model = Tokens(5, 3, key=jr.PRNGKey(0), embed_init=lambda k, s: jnp.full(s, 0.5))
    return model(jnp.asarray(2))
