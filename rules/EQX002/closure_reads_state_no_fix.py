# expect: EQX002
# fix: none
# A metric function defined before the loop reads `model` through its closure: with the loop on
# flattened leaves it would score the initial model every time, so no fix is offered.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr
import optax

optim = optax.sgd(0.1)


@eqx.filter_jit
def make_step(model, opt_state, x):
    grads = eqx.filter_grad(lambda m: jnp.sum(m(x) ** 2))(model)
    updates, opt_state = optim.update(grads, opt_state)
    return eqx.apply_updates(model, updates), opt_state


def run():
    model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
    opt_state = optim.init(eqx.filter(model, eqx.is_array))
    x = jnp.array([1.0, -1.0])

    def eval_metric():
        return -jnp.sum(model(x) ** 2)

    metrics = []
    for _ in range(4):
        model, opt_state = make_step(model, opt_state, x)
        metrics.append(eval_metric())
    return jnp.stack(metrics)
