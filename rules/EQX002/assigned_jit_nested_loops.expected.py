# expect: EQX002
# fix: safe
# behaviour: kept
# `step = eqx.filter_jit(_step)`, called in the inner loop of an epoch loop, with jit options kept.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


def _step(model, x):
    grads = eqx.filter_grad(lambda m: jnp.sum(m(x) ** 2))(model)
    return eqx.apply_updates(model, eqx.filter(grads, eqx.is_array)), jnp.sum(x)


step = eqx.filter_jit(_step, donate="none")


@eqx.filter_jit(donate="none")
def step_flat(treedefs, model, x):
    """`step` on flattened state, for a loop that keeps its state flat (eqx-rewrite EQX002)."""
    model = jax.tree_util.tree_unflatten(treedefs[0], model)
    results = step(model, x)
    model, treedef_model = jax.tree_util.tree_flatten(results[0])
    if (treedef_model,) != treedefs:
        raise ValueError(
            "`step` changed the structure of its state; it cannot run on flattened leaves"
        )
    return (model, results[1])


def run():
    model = eqx.nn.Linear(3, 2, key=jr.PRNGKey(0))
    totals = []
    for epoch in range(3):
        flat_model, treedef_model = jax.tree_util.tree_flatten(model)
        for i in range(4):
            flat_model, total = step_flat(
                (treedef_model,), flat_model, jnp.full(3, 0.1 * (epoch + i))
            )
        model = jax.tree_util.tree_unflatten(treedef_model, flat_model)
        totals.append(total)
    return model, jnp.stack(totals)
