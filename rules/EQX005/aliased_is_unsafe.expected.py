# expect: EQX005
# fix: unsafe
# behaviour: kept
# The model was stored in a list before the surgery: the list's copy saw the change before, and
# keeps the old weights after, so the fix is only offered as unsafe.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def run():
    model = eqx.nn.Linear(3, 3, key=jr.PRNGKey(0))
    history = [model]
    model = eqx.tree_at(lambda model: model.weight, model, 2 * model.weight)
    return model(jnp.ones(3)), len(history)
