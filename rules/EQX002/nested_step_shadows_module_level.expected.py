# expect: EQX002
# fix: safe
# behaviour: kept
# The jitted step defined inside the function that runs the loop, closing over the optimiser (how
# Equinox's own examples are written). It shadows a module-level `make_step` that is not jitted:
# names are resolved by scope, and the flat variant is a sibling nested def.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax


def make_step(model, opt_state, x):
    raise RuntimeError("the loop below calls its own make_step")


def main(steps=5):
    model = eqx.nn.MLP(2, 2, 8, 1, key=jr.PRNGKey(0))
    optim = optax.adam(1e-2)
    opt_state = optim.init(eqx.filter(model, eqx.is_array))

    @eqx.filter_jit
    def make_step(model, opt_state, x):
        loss, grads = eqx.filter_value_and_grad(lambda m: jnp.sum(m(x) ** 2))(model)
        updates, opt_state = optim.update(grads, opt_state, model)
        return loss, eqx.apply_updates(model, updates), opt_state

    @eqx.filter_jit
    def make_step_flat(treedefs, model, opt_state, x):
        """`make_step` on flattened state, for a loop that keeps its state flat (eqx-rewrite EQX002)."""
        model = jax.tree_util.tree_unflatten(treedefs[0], model)
        opt_state = jax.tree_util.tree_unflatten(treedefs[1], opt_state)
        results = make_step(model, opt_state, x)
        model, treedef_model = jax.tree_util.tree_flatten(results[1])
        opt_state, treedef_opt_state = jax.tree_util.tree_flatten(results[2])
        if (treedef_model, treedef_opt_state) != treedefs:
            raise ValueError(
                "`make_step` changed the structure of its state; it cannot run on flattened leaves"
            )
        return (results[0], model, opt_state)

    losses = []
    flat_model, treedef_model = jax.tree_util.tree_flatten(model)
    flat_opt_state, treedef_opt_state = jax.tree_util.tree_flatten(opt_state)
    for i in range(steps):
        loss, flat_model, flat_opt_state = make_step_flat(
            (treedef_model, treedef_opt_state),
            flat_model,
            flat_opt_state,
            jnp.full(2, float(i)),
        )
        losses.append(loss)
    model = jax.tree_util.tree_unflatten(treedef_model, flat_model)
    opt_state = jax.tree_util.tree_unflatten(treedef_opt_state, flat_opt_state)
    return model, jnp.stack(losses)


def run():
    return main()
