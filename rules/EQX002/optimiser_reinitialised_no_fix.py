# expect: EQX002
# fix: none
# The optimiser state is re-initialised inside the loop: its structure is not fixed across steps.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import optax

optim = optax.adam(1e-2)


@eqx.filter_jit
def make_step(model, opt_state, x):
    grads = eqx.filter_grad(lambda m: jnp.sum(m(x) ** 2))(model)
    updates, opt_state = optim.update(grads, opt_state, model)
    return eqx.apply_updates(model, updates), opt_state


def run():
    model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
    opt_state = optim.init(eqx.filter(model, eqx.is_array))
    for i in range(6):
        if i == 3:
            opt_state = optim.init(eqx.filter(model, eqx.is_array))
        model, opt_state = make_step(model, opt_state, jnp.ones(2))
    return model
