# expect: EQX102
# fix: none
# Both spellings given: the deprecated one wins, so renaming it would give the keyword twice.
import equinox as eqx
import jax.numpy as jnp


def run():
    dropout = eqx.nn.Dropout(0.5, inference=False, deterministic=True)
    return dropout(jnp.ones(3))
