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

    def __init__(self, width, key):
        k_layer, k_init = jr.split(key)
        self.linear = eqx.nn.Linear(width, width, key=k_layer)

    def __call__(self, x):
        return jnp.tanh(self.linear(x))


def init_block(model, width, key, *, linear_init=None):
    """Apply `_Block`'s custom initialisers to a built model with `eqx.tree_at` (EQX004)."""
    k_layer, k_init = jr.split(key)
    if linear_init is not None:
        model = eqx.tree_at(
            lambda l: l.linear.weight, model, linear_init(k_init, (width, width))
        )
    return model


class _Net(eqx.Module):
    blocks: list

    def __init__(self, width, depth, key):
        self.blocks = [_Block(width, k) for k in jr.split(key, depth)]

    def __call__(self, x):
        return sum(block(x) for block in self.blocks)  # parallel branches: not a stack for EQX001


def init_net(model, width, depth, key, *, block_init=None):
    """Apply `_Net`'s custom initialisers to a built model with `eqx.tree_at` (EQX004)."""
    if block_init is not None:
        model = eqx.tree_at(
            lambda m: m.blocks,
            model,
            [
                init_block(layer, width, k, linear_init=block_init)
                for layer, k in zip(model.blocks, jr.split(key, depth))
            ],
        )
    return model


def run():
    x = jnp.linspace(-1.0, 1.0, 3)
    plain = _Net(3, 3, jr.PRNGKey(0))
    custom = init_net(
        _Net(3, 3, jr.PRNGKey(0)), 3, 3, jr.PRNGKey(0), block_init=small_normal
    )
    return plain(x), custom(x), custom
