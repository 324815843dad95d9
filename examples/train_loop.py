# The usual Equinox training loop.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr
import optax

optim = optax.sgd(0.05, momentum=0.9)


@eqx.filter_jit
def make_step(model, opt_state, x, y):
    loss, grads = eqx.filter_value_and_grad(lambda m: jnp.mean((jax.vmap(m)(x) - y) ** 2))(model)
    updates, opt_state = optim.update(grads, opt_state, model)
    return eqx.apply_updates(model, updates), opt_state, loss


def run():
    model = eqx.nn.MLP(2, 1, 8, 1, key=jr.PRNGKey(0))
    opt_state = optim.init(eqx.filter(model, eqx.is_array))
    x = jr.normal(jr.PRNGKey(1), (16, 2))
    y = jnp.sum(x, axis=1, keepdims=True)
    losses = []
    for _ in range(20):
        model, opt_state, loss = make_step(model, opt_state, x, y)  # state first, loss last
        losses.append(loss)
    return model, opt_state, jnp.stack(losses)
