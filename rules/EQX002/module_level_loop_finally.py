# expect: EQX002
# fix: safe
# behaviour: kept
# A training loop at module level, as in a script or a notebook cell: an interrupt may stop it and
# the state is read afterwards, so the fix unflattens it in a `finally` (the loop indented into the
# `try`, all but the inner lines of its multi-line string).
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


model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
opt_state = optim.init(eqx.filter(model, eqx.is_array))
for step in range(4):
    model, opt_state = make_step(model, opt_state)
    if step % 2 == 0:
        print(f"step {step}: {float(jnp.sum(model(x))):.3f}")
    log = """step
done"""


def run():
    return model, opt_state
