# expect: EQX002
# fix: safe
# behaviour: kept
# jax.jit on a dict of arrays, a while loop, and an evaluation every few steps that reads the state.
import jax
import jax.numpy as jnp
import functools


@jax.jit
def sgd_step(params, x):
    grads = jax.grad(lambda p: jnp.sum((p["w"] * x + p["b"]) ** 2))(params)
    return jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, params, grads)


@functools.partial(jax.jit, static_argnums=(0,))
def sgd_step_flat(treedefs, flat_params, x):
    """`sgd_step` on flattened state, for a loop that keeps its state flat (eqx-rewrite EQX002)."""
    params = jax.tree_util.tree_unflatten(treedefs[0], flat_params)
    params = sgd_step(params, x)
    flat_params, treedef_params = jax.tree_util.tree_flatten(params)
    if (treedef_params,) != treedefs:
        raise ValueError(
            "`sgd_step` changed the structure of its state; it cannot run on flattened leaves"
        )
    return flat_params


def evaluate(params):
    return params["w"].sum() + params["b"].sum()


def run():
    params = {"w": jnp.ones(3), "b": jnp.zeros(3)}
    x = jnp.array([0.5, -1.0, 2.0])
    step, history = 0, []
    flat_params, treedef_params = jax.tree_util.tree_flatten(params)
    while step < 12:
        flat_params = sgd_step_flat((treedef_params,), flat_params, x)
        if step % 4 == 0:
            history.append(
                evaluate(jax.tree_util.tree_unflatten(treedef_params, flat_params))
            )
        step += 1
    params = jax.tree_util.tree_unflatten(treedef_params, flat_params)
    return params, jnp.stack(history)
