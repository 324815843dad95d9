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


class _Stage(eqx.Module):
    block: _Block
    norm: eqx.nn.LayerNorm

    def __init__(self, width, *, key):
        self.block = _Block(width, key)  # the stage's only initialiser
        self.norm = eqx.nn.LayerNorm(width)

    def __call__(self, x):
        return self.norm(self.block(x))


def init_stage(model, *, key, block_init=None):
    """Apply `_Stage`'s custom initialisers to a built model with `eqx.tree_at` (EQX004)."""
    if block_init is not None:
        model = eqx.tree_at(
            lambda m: m.block, model, init_block(model.block, key, proj_init=block_init)
        )
    return model


class _Model(eqx.Module):
    stage: _Stage
    head: eqx.nn.Linear

    def __init__(self, width, key):
        k_stage, k_head = jr.split(key)
        self.stage = _Stage(width, key=k_stage)
        self.head = eqx.nn.Linear(width, 1, key=k_head)

    def __call__(self, x):
        return self.head(self.stage(x))


def init_model(model, key, *, stage_init=None):
    """Apply `_Model`'s custom initialisers to a built model with `eqx.tree_at` (EQX004)."""
    k_stage, k_head = jr.split(key)
    if stage_init is not None:
        model = eqx.tree_at(
            lambda m: m.stage,
            model,
            init_stage(model.stage, key=k_stage, block_init=stage_init),
        )
    return model


def run():
    x = jnp.linspace(-1.0, 1.0, 4)
    plain = _Model(4, jr.PRNGKey(0))
    custom = init_model(
        _Model(4, jr.PRNGKey(1)), jr.PRNGKey(1), stage_init=scaled_normal
    )
    block = init_block(_Block(4, jr.PRNGKey(2)), jr.PRNGKey(2), proj_init=scaled_normal)
    return plain(x), custom(x), custom, block
