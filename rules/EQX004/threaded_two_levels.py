# expect: EQX004
# fix: safe
# behaviour: kept
# The model hands its initialiser to a stage, which hands it to the block that uses it: every
# constructor loses the argument, and each class gets a helper that calls the next one's.
import equinox as eqx
import jax
import jax.numpy as jnp
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


class _Stage(eqx.Module):
    block: _Block
    norm: eqx.nn.LayerNorm

    def __init__(self, width, *, key, block_init=None):
        self.block = _Block(width, key, proj_init=block_init)  # the stage's only initialiser
        self.norm = eqx.nn.LayerNorm(width)

    def __call__(self, x):
        return self.norm(self.block(x))


class _Model(eqx.Module):
    stage: _Stage
    head: eqx.nn.Linear

    def __init__(self, width, key, stage_init=None):
        k_stage, k_head = jr.split(key)
        self.stage = _Stage(width, key=k_stage, block_init=stage_init)
        self.head = eqx.nn.Linear(width, 1, key=k_head)

    def __call__(self, x):
        return self.head(self.stage(x))


def run():
    x = jnp.linspace(-1.0, 1.0, 4)
    plain = _Model(4, jr.PRNGKey(0))
    custom = _Model(4, jr.PRNGKey(1), stage_init=scaled_normal)
    block = _Block(4, jr.PRNGKey(2), proj_init=scaled_normal)
    return plain(x), custom(x), custom, block
