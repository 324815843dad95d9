# expect: EQX002
# fix: safe
# behaviour: kept
# The common loop: model and optimiser state rebound from the step's result every iteration.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax

optim = optax.sgd(0.05, momentum=0.9)


@eqx.filter_jit
def make_step(model, opt_state, x, y):
    loss, grads = eqx.filter_value_and_grad(lambda m: jnp.mean((jax.vmap(m)(x) - y) ** 2))(model)
    updates, opt_state = optim.update(grads, opt_state, model)
    return eqx.apply_updates(model, updates), opt_state, loss


@eqx.filter_jit
def make_step_flat(treedefs, model, opt_state, x, y):
    """`make_step` on flattened state, for a loop that keeps its state flat (eqx-rewrite EQX002)."""
    model = jax.tree_util.tree_unflatten(treedefs[0], model)
    opt_state = jax.tree_util.tree_unflatten(treedefs[1], opt_state)
    results = make_step(model, opt_state, x, y)
    model, treedef_model = jax.tree_util.tree_flatten(results[0])
    opt_state, treedef_opt_state = jax.tree_util.tree_flatten(results[1])
    if (treedef_model, treedef_opt_state) != treedefs:
        raise ValueError(
            "`make_step` changed the structure of its state; it cannot run on flattened leaves"
        )
    return (model, opt_state, results[2])


def run():
    model = eqx.nn.MLP(2, 1, 8, 1, key=jr.PRNGKey(0))
    opt_state = optim.init(eqx.filter(model, eqx.is_array))
    x = jr.normal(jr.PRNGKey(1), (16, 2))
    y = jnp.sum(x, axis=1, keepdims=True)
    losses = []
    flat_model, treedef_model = jax.tree_util.tree_flatten(model)
    flat_opt_state, treedef_opt_state = jax.tree_util.tree_flatten(opt_state)
    for _ in range(20):
        flat_model, flat_opt_state, loss = make_step_flat(
            (treedef_model, treedef_opt_state), flat_model, flat_opt_state, x, y
        )  # state first, loss last
        losses.append(loss)
    model = jax.tree_util.tree_unflatten(treedef_model, flat_model)
    opt_state = jax.tree_util.tree_unflatten(treedef_opt_state, flat_opt_state)
    return model, opt_state, jnp.stack(losses)
