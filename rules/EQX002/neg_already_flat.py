# expect: none
# The Tricks page's own low-overhead loop: the state is already flat.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


@eqx.filter_jit
def step(treedef, flat_model, x):
    model = jax.tree_util.tree_unflatten(treedef, flat_model)
    grads = eqx.filter_grad(lambda m: jnp.sum(m(x) ** 2))(model)
    model = eqx.apply_updates(model, eqx.filter(grads, eqx.is_array))
    return jax.tree_util.tree_leaves(model)


def run():
    model = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
    flat_model, treedef = jax.tree_util.tree_flatten(model)
    for _ in range(3):
        flat_model = step(treedef, flat_model, jnp.ones(2))
    return jax.tree_util.tree_unflatten(treedef, flat_model)
