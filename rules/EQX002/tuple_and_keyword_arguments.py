# expect: EQX002, EQX002
# fix: safe
# behaviour: kept
# The batch passed as a tuple literal, positionally and by keyword: the rewritten calls keep both
# forms, and both loops share one flat variant.
import equinox as eqx
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


def run():
    model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
    opt_state = optim.init(eqx.filter(model, eqx.is_array))
    x, y = jnp.array([1.0, 2.0]), jnp.array([0.5, -0.5])
    losses = []
    for _ in range(3):
        model, opt_state, loss = train_step(model, opt_state, (x, y))
        losses.append(loss)
    for _ in range(3):
        model, opt_state, loss = train_step(model, opt_state, batch=(x, y))
        losses.append(loss)
    return model, jnp.stack(losses)
