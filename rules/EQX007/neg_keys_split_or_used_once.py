# expect: none
# Near misses: keys split before each draw, one draw on each of two exclusive branches, a key split
# per pass of a loop, one key per element, `fold_in` with different data, a key handed to a single
# callee, a comprehension's own `key`, and `key` names that are not PRNG keys.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def split_first(key):
    k1, k2 = jr.split(key)
    return jr.normal(k1, (3,)), jr.normal(k2, (3,))


def branches(key, flag):
    if flag:
        return jr.normal(key, (3,))
    else:
        return jr.uniform(key, (3,))


def per_pass(key, n):
    out = []
    for _ in range(n):
        key, sub = jr.split(key)
        out.append(jr.normal(sub, (3,)))
    return jnp.stack(out)


def per_element(key):
    return [eqx.nn.Linear(3, 3, key=k) for k in jr.split(key, 4)]


def own_variable(key):
    keys = jr.split(key, 2)
    return [jr.normal(key, (2,)) for key in keys]


def folded(key):
    return jr.normal(jr.fold_in(key, 0), (2,)), jr.normal(jr.fold_in(key, 1), (2,))


def handed_on(key):
    return split_first(key)


def lookup(table):
    total = 0.0
    for key in table:
        total = total + table[key] * len(table[key])
    return total


def run():
    k = jr.split(jr.PRNGKey(0), 7)
    layers = per_element(k[0])
    return (split_first(k[1]), branches(k[2], True), per_pass(k[3], 2), [m.weight for m in layers],
            own_variable(k[4]), folded(k[5]), handed_on(k[6]), lookup({"a": jnp.ones(2)}))
