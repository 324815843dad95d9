# expect: EQX002, EQX002
# fix: safe
# behaviour: kept
# The batch passed as a tuple literal, positionally and by keyword: the rewritten calls keep both
# forms, and both loops share one flat variant.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax

optim = optax.adam(1e-2)


@eqx.filter_jit
def train_step(model, opt_state, batch):
    x, y = batch
    loss, grads = eqx.filter_value_and_grad(lambda m: jnp.mean((m(x) - y) ** 2))(model)
    updates, opt_state = optim.update(grads, opt_state, model)
    return eqx.apply_updates(model, updates), opt_state, loss


@eqx.filter_jit
def train_step_flat(treedefs, model, opt_state, batch):
    """`train_step` on flattened state, for a loop that keeps its state flat (eqx-rewrite EQX002)."""
    model = jax.tree_util.tree_unflatten(treedefs[0], model)
    opt_state = jax.tree_util.tree_unflatten(treedefs[1], opt_state)
    results = train_step(model, opt_state, batch)
    model, treedef_model = jax.tree_util.tree_flatten(results[0])
    opt_state, treedef_opt_state = jax.tree_util.tree_flatten(results[1])
    if (treedef_model, treedef_opt_state) != treedefs:
        raise ValueError(
            "`train_step` changed the structure of its state; it cannot run on flattened leaves"
        )
    return (model, opt_state, results[2])


def run():
    model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
    opt_state = optim.init(eqx.filter(model, eqx.is_array))
    x, y = jnp.array([1.0, 2.0]), jnp.array([0.5, -0.5])
    losses = []
    flat_model, treedef_model = jax.tree_util.tree_flatten(model)
    flat_opt_state, treedef_opt_state = jax.tree_util.tree_flatten(opt_state)
    for _ in range(3):
        flat_model, flat_opt_state, loss = train_step_flat(
            (treedef_model, treedef_opt_state), flat_model, flat_opt_state, (x, y)
        )
        losses.append(loss)
    model = jax.tree_util.tree_unflatten(treedef_model, flat_model)
    opt_state = jax.tree_util.tree_unflatten(treedef_opt_state, flat_opt_state)
    flat_model, treedef_model = jax.tree_util.tree_flatten(model)
    flat_opt_state, treedef_opt_state = jax.tree_util.tree_flatten(opt_state)
    for _ in range(3):
        flat_model, flat_opt_state, loss = train_step_flat(
            (treedef_model, treedef_opt_state), flat_model, flat_opt_state, batch=(x, y)
        )
        losses.append(loss)
    model = jax.tree_util.tree_unflatten(treedef_model, flat_model)
    opt_state = jax.tree_util.tree_unflatten(treedef_opt_state, flat_opt_state)
    return model, jnp.stack(losses)
