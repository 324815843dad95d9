# expect: EQX002
# fix: safe
# behaviour: kept
# `step = eqx.filter_jit(_step)`, called in the inner loop of an epoch loop, with jit options kept.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def _step(model, x):
    grads = eqx.filter_grad(lambda m: jnp.sum(m(x) ** 2))(model)
    return eqx.apply_updates(model, eqx.filter(grads, eqx.is_array)), jnp.sum(x)


step = eqx.filter_jit(_step, donate="none")


def run():
    model = eqx.nn.Linear(3, 2, key=jr.PRNGKey(0))
    totals = []
    for epoch in range(3):
        for i in range(4):
            model, total = step(model, jnp.full(3, 0.1 * (epoch + i)))
        totals.append(total)
    return model, jnp.stack(totals)
