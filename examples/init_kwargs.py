# A custom initialiser threaded through the constructor.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


class Encoder(eqx.Module):
    embed: eqx.nn.Linear

    def __init__(self, size, *, key, embed_bias_init=None):
        self.embed = eqx.nn.Linear(3, size, key=key)
        if embed_bias_init is not None:
            self.embed = eqx.tree_at(lambda l: l.bias, self.embed, embed_bias_init(size))


def run():
    return Encoder(5, key=jr.PRNGKey(2), embed_bias_init=jnp.ones), Encoder(5, key=jr.PRNGKey(3))
