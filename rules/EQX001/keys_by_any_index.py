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
    blocks: list

    def __init__(self, width, depth, key):
        keys = jr.split(key, depth + 1)
        self.embed = jr.normal(keys[0], (width,))
        self.blocks = [Block(width, jax_key=keys[-index]) for index in range(depth)]

    def __call__(self, x, *, key):
        x = x + self.embed
        keys = jr.split(key, len(self.blocks))
        for block, k in zip(self.blocks, keys):
            x = block(x, key=k)
        return x


def model():
    return Net(3, 4, jr.PRNGKey(0))


def example():
    return jnp.array([0.5, -1.0, 2.0])


def run():
    return model()(example(), key=jr.PRNGKey(1))
