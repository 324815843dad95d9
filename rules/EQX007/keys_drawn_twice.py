# expect: EQX007, EQX007, EQX007, EQX007, EQX007, EQX007, EQX007
# fix: none
# A key drawn from twice where one split before the first draw can't be shown to cover every draw:
# through an alias, one constant index of split keys, every element of a comprehension, a draw in a
# branch, a draw in the header of an `if`, a key a lambda reads whenever it is called, and a training
# loop's first split of a key already drawn (reported there, in the loop; after the loop the key is
# the last pass's fresh one, and drawing it is no reuse).
import equinox as eqx
import jax.numpy as jnp
import jax.random as jr


def aliased(key):
    k = key
    return jr.normal(k, (2,)), jr.normal(key, (2,))


def indexed(key):
    keys = jr.split(key, 3)
    return jr.normal(keys[0], (2,)) * jr.bernoulli(keys[0], 0.7, (2,)), jr.normal(keys[1], (2,))


def stack(key):
    return [eqx.nn.Linear(3, 3, key=key) for _ in range(4)]


def in_a_branch(key, noisy):
    x = jr.normal(key, (3,))
    if noisy:
        x = x + jr.normal(key, (3,))
    return x


def in_a_header(key):
    x = jr.normal(key, (3,))
    if jr.bernoulli(key, 0.5):
        x = -x
    return x


def closed_over(key):
    later = lambda: jr.uniform(key, (3,))
    x = jr.normal(key, (3,))
    y = jr.normal(key, (3,))
    return x + y + later()


def train(key, epochs):
    params = jr.normal(key, (2,))
    for _ in range(epochs):
        key, sub = jr.split(key)
        params = params + jr.normal(sub, (2,))
    return params, jr.uniform(key, (2,))


def run():
    k = jr.split(jr.PRNGKey(0), 7)
    weights = [m.weight for m in stack(k[2])]
    return aliased(k[0]), indexed(k[1]), weights, in_a_branch(k[3], True), in_a_header(k[4]), closed_over(k[5]), train(k[6], 3)
