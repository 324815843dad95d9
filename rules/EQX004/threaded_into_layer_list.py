# expect: EQX004, EQX003
# fix: safe, none
# behaviour: kept
# The initialiser is handed to every block of a list built over split keys: the helper applies the
# block's helper to each block, with the key that block was built from. The blocks, evaluated side by
# side, are also an ensemble held by a Module (EQX003, reported without a fix).
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


def small_normal(key, shape):
    return 0.1 * jr.normal(key, shape)


class _Block(eqx.Module):
    linear: eqx.nn.Linear

    def __init__(self, width, key, *, linear_init=None):
        k_layer, k_init = jr.split(key)
        self.linear = eqx.nn.Linear(width, width, key=k_layer)
        if linear_init is not None:
            self.linear = eqx.tree_at(lambda l: l.weight, self.linear, linear_init(k_init, (width, width)))

    def __call__(self, x):
        return jnp.tanh(self.linear(x))


class _Net(eqx.Module):
    blocks: list

    def __init__(self, width, depth, key, block_init=None):
        self.blocks = [_Block(width, k, linear_init=block_init) for k in jr.split(key, depth)]

    def __call__(self, x):
        return sum(block(x) for block in self.blocks)  # parallel branches: not a stack for EQX001


def run():
    x = jnp.linspace(-1.0, 1.0, 3)
    plain = _Net(3, 3, jr.PRNGKey(0))
    custom = _Net(3, 3, jr.PRNGKey(0), block_init=small_normal)
    return plain(x), custom(x), custom
