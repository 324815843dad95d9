# expect: EQX007, EQX007, EQX007, EQX007, EQX007
# fix: unsafe
# behaviour: changed
# A key drawn from twice: two samples, two constructors, a sample and then a split, draws around a
# key handed on (it gets a fresh key of its own), and every pass of a loop. One split before the
# first draw gives each draw its own key.
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def init(key):
    w = jr.normal(key, (3, 3))
    b = jr.normal(key, (3,))  # the same numbers as w's first row
    return w, b


def layers(key):
    return eqx.nn.Linear(3, 3, key=key), eqx.nn.Linear(3, 3, key=key)


def sample_then_split(key):
    x = jr.normal(key, (3,))
    key, sub = jr.split(key)
    return x, jr.uniform(sub, (3,)), key


def handed_on(key):
    a = jr.normal(key, (3,))
    b = jr.uniform(key, (3,))
    return a + b, jr.fold_in(key, 1)


def noise(key, n):
    out = []
    for _ in range(n):
        out.append(jr.normal(key, (3,)))
    return jnp.stack(out)


def run():
    k = jr.split(jr.PRNGKey(0), 5)
    first, second = layers(k[1])
    return init(k[0]), first.weight - second.weight, sample_then_split(k[2]), handed_on(k[3]), noise(k[4], 3)


def reference():
    """What a careful author writes: every draw from a key of its own."""
    k = jr.split(jr.PRNGKey(0), 5)
    k0, k1 = jr.split(k[0])
    init = jr.normal(k0, (3, 3)), jr.normal(k1, (3,))
    l0, l1 = jr.split(k[1])
    weights = eqx.nn.Linear(3, 3, key=l0).weight - eqx.nn.Linear(3, 3, key=l1).weight
    s0, s1 = jr.split(k[2])
    key, sub = jr.split(s1)
    sampled = jr.normal(s0, (3,)), jr.uniform(sub, (3,)), key
    key, h0, h1 = jr.split(k[3], 3)
    handed = jr.normal(h0, (3,)) + jr.uniform(h1, (3,)), jr.fold_in(key, 1)
    out, key = [], k[4]
    for _ in range(3):
        key, sub = jr.split(key)
        out.append(jr.normal(sub, (3,)))
    return init, weights, sampled, handed, jnp.stack(out)
