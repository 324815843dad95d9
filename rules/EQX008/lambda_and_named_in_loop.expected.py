# expect: EQX008, EQX008
# fix: safe
# behaviour: kept
# A lambda jitted on every pass (traced and compiled again each time) and a module function wrapped
# on every pass; both read only what the loop does not change, so creating them once is the same.
import equinox as eqx
import jax
import jax.numpy as jnp


def loss_fn(params, x, scale):
    return jnp.sum((params * x) ** 2) * scale


def step(params, x):
    return params - 0.1 * x


def train(params, xs):
    scale = 0.5
    losses = []
    jitted = jax.jit(lambda p, x: loss_fn(p, x, scale))
    step_jit = eqx.filter_jit(step)
    for x in xs:
        loss = jitted(params, x)
        params = step_jit(params, x)
        losses.append(loss)
    return params, jnp.stack(losses)


def run():
    return train(jnp.ones(3), jnp.arange(12.0).reshape(4, 3))
