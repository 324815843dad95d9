# expect: EQX002
# fix: safe
# behaviour: kept
# State passed by keyword: the flat variant keeps the step's parameter names, so `cache=` still binds.
import equinox as eqx
import jax
import jax.numpy as jnp
import jax.random as jr


@eqx.filter_jit
def step(params, x, *, cache):
    out = params(x + cache["shift"])
    new_cache = {"shift": cache["shift"] + out.mean(), "count": cache["count"] + 1}
    return jax.tree_util.tree_map(lambda p: p * 0.99, params), new_cache


@eqx.filter_jit
def step_flat(treedefs, params, x, *, cache):
    """`step` on flattened state, for a loop that keeps its state flat (eqx-rewrite EQX002)."""
    params = jax.tree_util.tree_unflatten(treedefs[0], params)
    cache = jax.tree_util.tree_unflatten(treedefs[1], cache)
    results = step(params, x, cache=cache)
    params, treedef_params = jax.tree_util.tree_flatten(results[0])
    cache, treedef_cache = jax.tree_util.tree_flatten(results[1])
    if (treedef_params, treedef_cache) != treedefs:
        raise ValueError(
            "`step` changed the structure of its state; it cannot run on flattened leaves"
        )
    return (params, cache)


def run():
    params = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
    cache = {"shift": jnp.zeros(2), "count": jnp.zeros((), jnp.int32)}
    flat_params, treedef_params = jax.tree_util.tree_flatten(params)
    flat_cache, treedef_cache = jax.tree_util.tree_flatten(cache)
    for i in range(4):
        flat_params, flat_cache = step_flat(
            (treedef_params, treedef_cache),
            flat_params,
            jnp.full(2, float(i)),
            cache=flat_cache,
        )
    params = jax.tree_util.tree_unflatten(treedef_params, flat_params)
    cache = jax.tree_util.tree_unflatten(treedef_cache, flat_cache)
    return params, cache
