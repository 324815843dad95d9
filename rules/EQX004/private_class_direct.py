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

    def __init__(self, width, key, proj_init=None):
        k_layer, k_init = jr.split(key)
        self.proj = eqx.nn.Linear(width, width, key=k_layer)
        if proj_init is not None:
            self.proj = eqx.tree_at(lambda l: l.weight, self.proj, proj_init(k_init, self.proj.weight.shape))

    def __call__(self, x):
        return jax.nn.relu(self.proj(x))


def run():
    plain = _Block(4, jr.PRNGKey(0))
    custom = _Block(4, jr.PRNGKey(1), proj_init=scaled_normal)
    return plain, custom
