# expect: EQX002
# fix: none
# A loop at module level (a script, a notebook) and a module function reading the global `model`:
# with the loop on flattened leaves `evaluate()` would see the initial model, so no fix is offered.
import equinox as eqx
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


def evaluate():
    return -jnp.sum(model(x) ** 2)


model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
opt_state = optim.init(eqx.filter(model, eqx.is_array))
scores = []
for _ in range(4):
    model, opt_state = make_step(model, opt_state)
    scores.append(evaluate())


def run():
    return jnp.stack(scores)
