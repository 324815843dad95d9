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


def run():
    params = eqx.nn.Linear(2, 2, key=jr.PRNGKey(0))
    cache = {"shift": jnp.zeros(2), "count": jnp.zeros((), jnp.int32)}
    for i in range(4):
        params, cache = step(params, jnp.full(2, float(i)), cache=cache)
    return params, cache
