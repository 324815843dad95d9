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


@functools.partial(
    jax.jit,
    static_argnums=(0, 4),
    donate_argnames=("model", "momentum"),
    static_argnames=("lr",),
)
def update_flat(treedefs, model, momentum, x, lr):
    """`update` on flattened state, for a loop that keeps its state flat (eqx-rewrite EQX002)."""
    model = jax.tree_util.tree_unflatten(treedefs[0], model)
    momentum = jax.tree_util.tree_unflatten(treedefs[1], momentum)
    results = update(model, momentum, x, lr)
    model, treedef_model = jax.tree_util.tree_flatten(results[0])
    momentum, treedef_momentum = jax.tree_util.tree_flatten(results[1])
    if (treedef_model, treedef_momentum) != treedefs:
        raise ValueError(
            "`update` changed the structure of its state; it cannot run on flattened leaves"
        )
    return (model, momentum)


def run():
    model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
    momentum = jax.tree_util.tree_map(jnp.zeros_like, model)
    flat_model, treedef_model = jax.tree_util.tree_flatten(model)
    flat_momentum, treedef_momentum = jax.tree_util.tree_flatten(momentum)
    for i in range(4):
        flat_model, flat_momentum = update_flat(
            (treedef_model, treedef_momentum),
            flat_model,
            flat_momentum,
            jnp.full(2, float(i)),
            0.05,
        )
    model = jax.tree_util.tree_unflatten(treedef_model, flat_model)
    momentum = jax.tree_util.tree_unflatten(treedef_momentum, flat_momentum)
    return model, momentum
