# expect: EQX002
# fix: safe
# behaviour: kept
# jax.jit with donate_argnames and static_argnames: the flat variant keeps the parameter names, so
# the names still refer to parameters that exist. `lr` is passed by position: jax finds it static from
# its name only when no `static_argnums` are given, so the variant spells its position out (a bug the
# fix fuzzer found).
import functools

import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


def _update(model, momentum, x, lr):
    grads = jax.grad(lambda m: jnp.sum(m(x) ** 2))(model)
    momentum = jax.tree_util.tree_map(lambda v, g: 0.9 * v + g, momentum, grads)
    return jax.tree_util.tree_map(lambda p, v: p - lr * v, model, momentum), momentum


update = jax.jit(_update, donate_argnames=("model", "momentum"), static_argnames=("lr",))


def run():
    model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
    momentum = jax.tree_util.tree_map(jnp.zeros_like, model)
    for i in range(4):
        model, momentum = update(model, momentum, jnp.full(2, float(i)), 0.05)
    return model, momentum
