# expect: EQX002
# fix: safe
# behaviour: kept
# jax.jit on a Module of arrays, a while loop, and an evaluation every few steps that reads the state.
import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


@jax.jit
def sgd_step(model, x):
    grads = jax.grad(lambda m: jnp.sum(m(x) ** 2))(model)
    return jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, model, grads)


@functools.partial(jax.jit, static_argnums=(0,))
def sgd_step_flat(treedefs, model, x):
    """`sgd_step` on flattened state, for a loop that keeps its state flat (eqx-rewrite EQX002)."""
    model = jax.tree_util.tree_unflatten(treedefs[0], model)
    results = sgd_step(model, x)
    model, treedef_model = jax.tree_util.tree_flatten(results)
    if (treedef_model,) != treedefs:
        raise ValueError(
            "`sgd_step` changed the structure of its state; it cannot run on flattened leaves"
        )
    return model


def evaluate(model):
    return model.weight.sum() + model.bias.sum()


def run():
    model = eqx.nn.Linear(3, 3, key=jr.PRNGKey(0))
    x = jnp.array([0.5, -1.0, 2.0])
    step, history = 0, []
    flat_model, treedef_model = jax.tree_util.tree_flatten(model)
    while step < 12:
        flat_model = sgd_step_flat((treedef_model,), flat_model, x)
        if step % 4 == 0:
            history.append(
                evaluate(jax.tree_util.tree_unflatten(treedef_model, flat_model))
            )
        step += 1
    model = jax.tree_util.tree_unflatten(treedef_model, flat_model)
    return model, jnp.stack(history)
