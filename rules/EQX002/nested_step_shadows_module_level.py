# expect: EQX002
# fix: safe
# behaviour: kept
# The jitted step defined inside the function that runs the loop, closing over the optimiser (how
# Equinox's own examples are written). It shadows a module-level `make_step` that is not jitted:
# names are resolved by scope, and the flat variant is a sibling nested def.
import equinox as eqx
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

    losses = []
    for i in range(steps):
        loss, model, opt_state = make_step(model, opt_state, jnp.full(2, float(i)))
        losses.append(loss)
    return model, jnp.stack(losses)


def run():
    return main()
