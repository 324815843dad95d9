# expect: EQX004
# fix: safe
# behaviour: kept
# A private class: no other file can call its constructor, so changing its signature is safe.
import equinox as eqx
import jax
import jax.random as jr


def scaled_normal(key, shape):
    return 0.02 * jr.normal(key, shape)


class _Block(eqx.Module):
    proj: eqx.nn.Linear

    def __init__(self, width, key):
        k_layer, k_init = jr.split(key)
        self.proj = eqx.nn.Linear(width, width, key=k_layer)

    def __call__(self, x):
        return jax.nn.relu(self.proj(x))


def init_block(model, key, *, proj_init=None):
    """Apply `_Block`'s custom initialisers to a built model with `eqx.tree_at` (EQX004)."""
    k_layer, k_init = jr.split(key)
    if proj_init is not None:
        model = eqx.tree_at(
            lambda l: l.proj.weight, model, proj_init(k_init, model.proj.weight.shape)
        )
    return model


def run():
    plain = _Block(4, jr.PRNGKey(0))
    custom = init_block(
        _Block(4, jr.PRNGKey(1)), jr.PRNGKey(1), proj_init=scaled_normal
    )
    return plain, custom
