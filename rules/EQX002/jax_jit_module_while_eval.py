# expect: EQX002
# fix: safe
# behaviour: kept
# jax.jit on a Module of arrays, a while loop, and an evaluation every few steps that reads the state.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


@jax.jit
def sgd_step(model, x):
    grads = jax.grad(lambda m: jnp.sum(m(x) ** 2))(model)
    return jax.tree_util.tree_map(lambda p, g: p - 0.1 * g, model, grads)


def evaluate(model):
    return model.weight.sum() + model.bias.sum()


def run():
    model = eqx.nn.Linear(3, 3, key=jr.PRNGKey(0))
    x = jnp.array([0.5, -1.0, 2.0])
    step, history = 0, []
    while step < 12:
        model = sgd_step(model, x)
        if step % 4 == 0:
            history.append(evaluate(model))
        step += 1
    return model, jnp.stack(history)
