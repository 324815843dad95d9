# expect: EQX002
# fix: safe
# behaviour: kept
# A training loop at module level, as in a script or a notebook cell: an interrupt may stop it and
# the state is read afterwards, so the fix unflattens it in a `finally` (the loop indented into the
# `try`, all but the inner lines of its multi-line string).
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax

optim = optax.sgd(0.1)
x = jnp.array([1.0, -1.0])


@eqx.filter_jit
def make_step(model, opt_state):
    grads = eqx.filter_grad(lambda m: jnp.sum(m(x) ** 2))(model)
    updates, opt_state = optim.update(grads, opt_state)
    return eqx.apply_updates(model, updates), opt_state


@eqx.filter_jit
def make_step_flat(treedefs, model, opt_state):
    """`make_step` on flattened state, for a loop that keeps its state flat (eqx-rewrite EQX002)."""
    model = jax.tree_util.tree_unflatten(treedefs[0], model)
    opt_state = jax.tree_util.tree_unflatten(treedefs[1], opt_state)
    results = make_step(model, opt_state)
    model, treedef_model = jax.tree_util.tree_flatten(results[0])
    opt_state, treedef_opt_state = jax.tree_util.tree_flatten(results[1])
    if (treedef_model, treedef_opt_state) != treedefs:
        raise ValueError(
            "`make_step` changed the structure of its state; it cannot run on flattened leaves"
        )
    return (model, opt_state)


model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
opt_state = optim.init(eqx.filter(model, eqx.is_array))
flat_model, treedef_model = jax.tree_util.tree_flatten(model)
flat_opt_state, treedef_opt_state = jax.tree_util.tree_flatten(opt_state)
try:
    for step in range(4):
        flat_model, flat_opt_state = make_step_flat(
            (treedef_model, treedef_opt_state), flat_model, flat_opt_state
        )
        if step % 2 == 0:
            print(
                f"step {step}: {float(jnp.sum(jax.tree_util.tree_unflatten(treedef_model, flat_model)(x))):.3f}"
            )
        log = """step
done"""
finally:
    model = jax.tree_util.tree_unflatten(treedef_model, flat_model)
    opt_state = jax.tree_util.tree_unflatten(treedef_opt_state, flat_opt_state)


def run():
    return model, opt_state
