# expect: EQX004
# fix: none
# The key comes from an iterator: passing it twice would not give the same key.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Encoder(eqx.Module):
    embed: eqx.nn.Linear

    def __init__(self, size, *, key, embed_bias_init=None):
        k1, k2 = jr.split(key)
        self.embed = eqx.nn.Linear(3, size, key=k1)
        if embed_bias_init is not None:
            self.embed = eqx.tree_at(lambda l: l.bias, self.embed, embed_bias_init(k2, (size,)))


def run():
    keys = iter(jr.split(jr.PRNGKey(0), 3))
    return Encoder(4, key=next(keys), embed_bias_init=lambda k, s: jr.normal(k, s))
