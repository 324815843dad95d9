# expect: EQX007, EQX007, EQX007, EQX007, EQX007, EQX007
# fix: none
# A key drawn from twice: two samples, two constructors, an alias, one constant index of split
# keys, every pass of a loop, and every element of a comprehension.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def init(key):
    w = jr.normal(key, (3, 3))
    b = jr.normal(key, (3,))  # the same numbers as w's first row
    return w, b


def layers(key):
    return eqx.nn.Linear(3, 3, key=key), eqx.nn.Linear(3, 3, key=key)


def aliased(key):
    k = key
    return jr.normal(k, (2,)), jr.normal(key, (2,))


def indexed(key):
    keys = jr.split(key, 3)
    return jr.normal(keys[0], (2,)) * jr.bernoulli(keys[0], 0.7, (2,)), jr.normal(keys[1], (2,))


def noise(key, n):
    out = []
    for _ in range(n):
        out.append(jr.normal(key, (3,)))
    return jnp.stack(out)


def stack(key):
    return [eqx.nn.Linear(3, 3, key=key) for _ in range(4)]


def run():
    k = jr.split(jr.PRNGKey(0), 6)
    first, second = layers(k[0])
    return init(k[1]), first.weight - second.weight, aliased(k[2]), indexed(k[3]), noise(k[4], 3), [m.weight for m in stack(k[5])]
